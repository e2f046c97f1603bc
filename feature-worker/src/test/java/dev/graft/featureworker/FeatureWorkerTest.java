package dev.graft.featureworker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.contract.FeatureBatchCodec;
import dev.graft.common.contract.FeatureHeaders;
import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.ImageHeaders;
import dev.graft.common.contract.Topics;
import dev.graft.common.image.ImageDecoder;
import dev.graft.featureworker.internal.BatchFeaturizer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Timeout;

/**
 * The poll loop's error tiers against mock clients: a {@link MockConsumer} that behaves like a log (it
 * re-delivers from its position after a seek, at most one batch per poll, and learns the offsets committed
 * by the producer's transactions) and a {@link MockProducer} whose commit fails when told to.
 */
@Timeout(60)
class FeatureWorkerTest {
    static final Topics TOPICS = Topics.defaults();
    static final int BATCH = 8;
    static final int PER_PARTITION = 20;
    final TopicPartition p0 = new TopicPartition(TOPICS.images(), 0);
    final TopicPartition p1 = new TopicPartition(TOPICS.images(), 1);

    @ParameterizedTest(name = "commit interval {0} ms, commit {1} fails")
    @CsvSource({"0, 2", "30000, 1"}) // a transaction per batch; one transaction holding several batches
    void retriableCommitFailureAbortsRewindsToCommittedOffsetsAndReprocessesWithoutLossOrDuplicate(long intervalMs,
                                                                                                  int failing) throws Exception {
        LogConsumer consumer = new LogConsumer();
        FailingProducer producer = new FailingProducer(consumer);
        producer.failCommitNumber.set(failing);
        producer.failure = new KafkaException("injected: coordinator went away during commit");
        FeatureWorker worker = worker(consumer, producer, new FakeBase(8).slow(50), Duration.ofMillis(intervalMs));
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);
        drainAndStop(worker, run, producer);
        assertThat(producer.aborts.get()).as("the failed transaction was aborted").isEqualTo(1);
        assertThat(worker.batchCount()).as("counted when committed: the aborted batches are not").isEqualTo(2 * PER_PARTITION / BATCH);
        assertThat(producer.committedOffsets).containsEntry(p0, (long) PER_PARTITION).containsEntry(p1, (long) PER_PARTITION);
        assertThat(consumer.seeks.get()).as("rewound to the committed offsets").isPositive();
    }

    @Test
    void producerFencedDuringCommitStopsTheWorkerWithoutCommitting() throws Exception {
        LogConsumer consumer = new LogConsumer();
        FailingProducer producer = new FailingProducer(consumer);
        producer.failCommitNumber.set(1);
        producer.failure = new ProducerFencedException("injected: a newer producer with this transactional.id");
        FeatureWorker worker = worker(consumer, producer);
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);

        ExecutionException e = org.assertj.core.api.Assertions.catchThrowableOfType(ExecutionException.class,
                () -> run.get(20, TimeUnit.SECONDS));
        assertThat(e).as("run() ends by itself").isNotNull();
        assertThat(e.getCause()).isInstanceOf(ProducerFencedException.class);
        assertThat(producer.history()).as("nothing committed").isEmpty();
        assertThat(worker.featurizedCount()).isZero();
        assertThat(consumer.closed()).isTrue();
        worker.close(); // idempotent after a fatal stop
    }

    @Test
    void fatalErrorWrappedByTheProducerInAnErrorStateStopsTheWorker() throws Exception {
        LogConsumer consumer = new LogConsumer();
        FailingProducer producer = new FailingProducer(consumer);
        producer.failCommitNumber.set(1);
        producer.failure = new KafkaException("Cannot execute transactional method because we are in an error state",
                new TransactionalIdAuthorizationException("injected: not allowed to use this transactional.id"));
        FeatureWorker worker = worker(consumer, producer);
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);

        ExecutionException e = org.assertj.core.api.Assertions.catchThrowableOfType(ExecutionException.class,
                () -> run.get(20, TimeUnit.SECONDS));
        assertThat(e).as("run() ends by itself instead of retrying forever").isNotNull();
        assertThat(e.getCause()).hasCauseInstanceOf(TransactionalIdAuthorizationException.class);
        assertThat(producer.history()).isEmpty();
        assertThat(producer.aborts.get()).isZero();
    }

    @Test
    void failingAbortAfterARetriableErrorStopsTheWorker() throws Exception {
        LogConsumer consumer = new LogConsumer();
        FailingProducer producer = new FailingProducer(consumer);
        producer.failCommitNumber.set(1);
        producer.failure = new KafkaException("injected: commit failed");
        producer.abortTransactionException = new KafkaException("injected: abort failed too");
        FeatureWorker worker = worker(consumer, producer);
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);

        ExecutionException e = org.assertj.core.api.Assertions.catchThrowableOfType(ExecutionException.class,
                () -> run.get(20, TimeUnit.SECONDS));
        assertThat(e).isNotNull();
        assertThat(e.getCause()).isInstanceOf(FeatureWorker.FatalWorkerException.class);
        assertThat(producer.history()).isEmpty();
    }

    @Test
    void severalCutsWriteOneFeatureRecordPerCutWithItsOwnBaseRefAndEveryImageOncePerCut() throws Exception {
        LogConsumer consumer = new LogConsumer();
        FailingProducer producer = new FailingProducer(consumer);
        FeatureWorker worker = worker(consumer, producer, new FakeBase(8, 2));
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);
        waitFor(() -> worker.featurizedCount() == 2L * PER_PARTITION);
        worker.close();
        run.get(10, TimeUnit.SECONDS);

        Map<String, List<String>> idsByBase = new HashMap<>();
        try (FeatureBatchCodec codec = new FeatureBatchCodec()) {
            for (ProducerRecord<byte[], byte[]> r : producer.history()) {
                if (!r.topic().equals(TOPICS.features())) continue;
                String headerBase = FeatureHeaders.baseRef(r.headers()).orElseThrow().id();
                for (FeatureRow row : codec.decode(r.value())) {
                    assertThat(row.baseId()).as("rows of a record carry its header's base").isEqualTo(headerBase);
                    idsByBase.computeIfAbsent(row.baseId(), b -> new ArrayList<>()).add(row.imageId());
                }
            }
        }
        assertThat(idsByBase).containsOnlyKeys("fake-8", "fake-max-8");
        for (List<String> ids : idsByBase.values()) {
            assertThat(ids).hasSize(2 * PER_PARTITION).doesNotHaveDuplicates();
        }
        assertThat(new java.util.HashSet<>(idsByBase.get("fake-8"))).isEqualTo(new java.util.HashSet<>(idsByBase.get("fake-max-8")));
    }

    @Test
    void queueHoldsTwoBatchesOrTheQueuedImages() {
        assertThat(FeatureWorker.maxInFlight(1, 32)).isEqualTo(32);
        assertThat(FeatureWorker.maxInFlight(8, 32)).isEqualTo(4);
        assertThat(FeatureWorker.maxInFlight(10, 32)).isEqualTo(4);
        assertThat(FeatureWorker.maxInFlight(16, 32)).isEqualTo(2);
        assertThat(FeatureWorker.maxInFlight(64, 32)).isEqualTo(2);
        assertThat(FeatureWorker.maxInFlight(16, 128)).isEqualTo(8);
        assertThat(FeatureWorker.maxInFlight(FeatureWorkerOptions.defaults(TOPICS, "g", "w").withBatchSize(1)))
                .as("the default").isEqualTo(FeatureWorkerOptions.DEFAULT_QUEUED_IMAGES);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FeatureWorkerOptions.defaults(TOPICS, "g", "w").withQueuedImages(0))
                .hasMessageContaining("queued images must be in 1..4096, got 0");
    }

    /**
     * A fixed 128 images held 0.44 s of forward passes at 96 px (2 lanes, batch 1) against the ~0.5 s a commit
     * blocked the poll thread there, so the lanes ran dry once per queueful: the default scales with the pixels.
     */
    @Test
    void defaultQueueAtSmallInputsRunsDryInACommit() {
        assertThat(FeatureWorkerOptions.queuedImagesFor(224)).isEqualTo(128);
        assertThat(FeatureWorkerOptions.queuedImagesFor(299)).as("never fewer than 128").isEqualTo(128);
        assertThat(FeatureWorkerOptions.queuedImagesFor(96)).isEqualTo(696);
        assertThat(FeatureWorkerOptions.queuedImagesFor(28)).as("capped").isEqualTo(FeatureWorkerOptions.MAX_QUEUED_IMAGES);
        for (int size : new int[] {96, 128, 160, 224}) {
            long bytes = (long) FeatureWorkerOptions.queuedImagesFor(size) * size * size * 3 * Float.BYTES;
            assertThat(bytes).as("%d px: pixels within the budget", size)
                    .isLessThanOrEqualTo(FeatureWorkerOptions.QUEUED_PIXEL_BYTES)
                    .isGreaterThan(FeatureWorkerOptions.QUEUED_PIXEL_BYTES - (long) size * size * 3 * Float.BYTES);
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FeatureWorkerOptions.queuedImagesFor(0))
                .hasMessageContaining("input size must be >= 1, got 0");
    }

    @Test
    void queuedImagesOptionTakesANumberOrAuto() {
        assertThat(FeatureWorkerOptions.parseQueuedImages("auto")).isNull();
        assertThat(FeatureWorkerOptions.parseQueuedImages(" AUTO ")).isNull();
        assertThat(FeatureWorkerOptions.parseQueuedImages("32")).isEqualTo(32);
        assertThat(FeatureWorkerOptions.parseQueuedImages("4096")).isEqualTo(4096);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FeatureWorkerOptions.parseQueuedImages("0"))
                .hasMessage("must be in 1..4096 or auto, got 0");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FeatureWorkerOptions.parseQueuedImages("lots"))
                .hasMessage("must be a number in 1..4096 or auto, got 'lots'");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FeatureWorkerOptions.parseQueuedImages(" "))
                .hasMessage("must be a number in 1..4096 or auto, got nothing");
    }

    @Test
    void queueHoldsABatchPerLaneAndOneBehindThem() {
        assertThat(FeatureWorker.maxInFlight(64, 32, 2)).as("each lane busy, one batch queued").isEqualTo(3);
        assertThat(FeatureWorker.maxInFlight(16, 32, 4)).isEqualTo(5);
        assertThat(FeatureWorker.maxInFlight(8, 128, 2)).as("the queued images, when more").isEqualTo(16);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FeatureWorkerOptions.defaults(TOPICS, "g", "w").withLanes(0))
                .hasMessageContaining("inference lanes must be in 1..64, got 0");
    }

    @Test
    void producerLingersUpToTheCommitIntervalUnlessTheUserSetsIt() {
        FeatureWorkerOptions opts = FeatureWorkerOptions.defaults(TOPICS, "g", "w-0").withBatchSize(4)
                .withCommitInterval(Duration.ofMillis(250)).withQueuedImages(30);
        dev.graft.common.kafka.KafkaSettings plain = dev.graft.common.kafka.KafkaSettings.of("localhost:1");
        Map<String, Object> producer = FeatureWorker.clientSettings(opts, plain).transactionalProducerConfig("t");
        assertThat(producer).containsEntry("linger.ms", "250")
                .containsEntry("batch.size", String.valueOf(FeatureWorker.PRODUCER_BATCH_BYTES));
        assertThat(FeatureWorker.clientSettings(opts, plain).consumerConfig("g"))
                .as("what the inference thread takes at once: 8 batches of 4 (30 images rounded up)")
                .containsEntry("max.poll.records", "32");
        assertThat(FeatureWorker.clientSettings(opts.withCommitInterval(Duration.ZERO), plain)
                .transactionalProducerConfig("t")).as("a transaction per batch: the library's short linger")
                .containsEntry("linger.ms", "5");
        dev.graft.common.kafka.KafkaSettings user = plain.with("linger.ms", "7").with("batch.size", "1000");
        assertThat(FeatureWorker.clientSettings(opts, user).transactionalProducerConfig("t"))
                .as("pass-through properties win").containsEntry("linger.ms", "7").containsEntry("batch.size", "1000");
    }

    @Test
    void backgroundThreadsYieldToTheForwardPassButItKeepsTheCallersPriority() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.graft.common.os.ThreadNice.supported(), "Linux only");
        int caller = FakeBase.niceOfThisThread();
        int background = Math.min(FeatureWorkerOptions.MAX_NICE, caller + 4);
        org.junit.jupiter.api.Assumptions.assumeTrue(background > caller, "needs room below the caller's priority");
        FakeBase base = new FakeBase(8);
        FreshPollThreadRun r = runOnFreshPollThread(new FeatureWorkerOptions(TOPICS, "g", "w-0", BATCH,
                Duration.ofMillis(50), Duration.ofSeconds(5), Duration.ofMillis(10)).withBackgroundNice(background),
                base, FakeBase::niceOfThisThread);
        assertThat(r.clientsThread()).as("poll thread, where the Kafka clients start").isEqualTo(background);
        assertThat(base.passNice).as("the inference thread").isEqualTo(caller);
        for (int nice : ofJitThreads(dev.graft.common.os.ThreadNice::niceOf)) {
            assertThat(nice).as("JIT compiler thread").isGreaterThanOrEqualTo(background);
        }
    }

    /** The default policy: SCHED_IDLE, which a woken OpenMP thread pre-empts at once (under nice 10 it could wait). */
    @Test
    void idlePolicyPutsTheKafkaSideUnderSchedIdleAndLeavesTheForwardPassAlone() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.graft.common.os.ThreadNice.supported(), "Linux only");
        int callerPolicy = FakeBase.policyOfThisThread();
        org.junit.jupiter.api.Assumptions.assumeTrue(callerPolicy != dev.graft.common.os.ThreadNice.SCHED_IDLE);
        FeatureWorkerOptions opts = new FeatureWorkerOptions(TOPICS, "g", "w-0", BATCH, Duration.ofMillis(50),
                Duration.ofSeconds(5), Duration.ofMillis(10));
        assertThat(opts.backgroundPolicy()).as("the default").isEqualTo(FeatureWorkerOptions.BackgroundPolicy.IDLE);
        FakeBase base = new FakeBase(8);
        FreshPollThreadRun r = runOnFreshPollThread(opts, base, FakeBase::policyOfThisThread);
        assertThat(r.clientsThread()).as("poll thread, where the Kafka clients start")
                .isEqualTo(dev.graft.common.os.ThreadNice.SCHED_IDLE);
        assertThat(base.passPolicy).as("the inference thread").isEqualTo(callerPolicy);
        assertThat(ofJitThreads(dev.graft.common.os.ThreadNice::policyOf)).as("JIT compiler threads")
                .containsOnly(dev.graft.common.os.ThreadNice.SCHED_IDLE);
    }

    /** What a probe saw on the thread that made the Kafka clients (where their threads start). */
    private record FreshPollThreadRun(int clientsThread) {}

    /**
     * Runs a worker on a fresh thread (its run() lowers that thread for good) until it committed every image once,
     * and probes the thread that makes its Kafka clients.
     */
    private FreshPollThreadRun runOnFreshPollThread(FeatureWorkerOptions opts, FakeBase base,
                                                    java.util.function.IntSupplier probe) throws Exception {
        LogConsumer consumer = new LogConsumer();
        FailingProducer producer = new FailingProducer(consumer);
        java.util.concurrent.atomic.AtomicInteger seen = new java.util.concurrent.atomic.AtomicInteger(Integer.MIN_VALUE);
        FeatureWorker worker = new FeatureWorker(opts, () -> consumer, () -> {
            seen.set(probe.getAsInt());
            return producer;
        }, new BatchFeaturizer(base, new ImageDecoder()));
        Thread poll = new Thread(worker, "priority-test-poll");
        poll.start();
        waitFor(() -> worker.featurizedCount() == 2L * PER_PARTITION);
        worker.close();
        poll.join(10_000);
        assertThat(committedImageIds(producer)).hasSize(2 * PER_PARTITION).doesNotHaveDuplicates();
        return new FreshPollThreadRun(seen.get());
    }

    /** {@code reader}'s value for each JIT compiler thread still running (the JVM retires idle ones meanwhile). */
    private static List<Integer> ofJitThreads(FakeBase.TidReader reader) throws java.io.IOException {
        List<Integer> values = new java.util.ArrayList<>();
        for (String jit : List.of("C1 CompilerThre", "C2 CompilerThre")) {
            for (int tid : dev.graft.common.os.ThreadNice.threadsNamed(jit)) {
                try {
                    values.add(reader.read(tid));
                } catch (java.io.IOException ended) {
                    if (dev.graft.common.os.ThreadNice.alive(tid)) throw ended;
                }
            }
        }
        return values;
    }

    @Test
    void warmUpRunsOneBlankBatchBeforeTheFirstRecordsAndCommitsNothingOfIt() throws Exception {
        LogConsumer consumer = new LogConsumer();
        FailingProducer producer = new FailingProducer(consumer);
        FakeBase base = new FakeBase(8).gated();
        FeatureWorkerOptions opts = new FeatureWorkerOptions(TOPICS, "g", "w-0", BATCH, Duration.ofMillis(50),
                Duration.ofSeconds(5), Duration.ofMillis(10), true, true, Duration.ZERO, 0,
                FeatureWorkerOptions.BackgroundPolicy.NICE, 0, FeatureWorkerOptions.DEFAULT_QUEUED_IMAGES, 1);
        FeatureWorker worker = new FeatureWorker(opts, () -> consumer, () -> producer, new BatchFeaturizer(base, new ImageDecoder()));
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);
        assertThat(base.awaitForwardPass()).isTrue();
        assertThat(producer.history()).as("nothing sent while the warm-up pass runs").isEmpty();
        base.open();
        waitFor(() -> worker.featurizedCount() == 2L * PER_PARTITION);
        worker.close();
        run.get(10, TimeUnit.SECONDS);
        assertThat(base.firstPassImages).as("the warm-up pass is one full batch").isEqualTo(BATCH);
        assertThat(base.passes.get()).as("one warm-up pass plus one per batch").isEqualTo(1 + 2 * PER_PARTITION / BATCH);
        assertThat(committedImageIds(producer)).hasSize(2 * PER_PARTITION).doesNotHaveDuplicates();
    }

    @Test
    void withoutWarmUpTheFirstPassIsTheFirstBatch() throws Exception {
        LogConsumer consumer = new LogConsumer();
        FailingProducer producer = new FailingProducer(consumer);
        FakeBase base = new FakeBase(8);
        FeatureWorker worker = worker(consumer, producer, base);
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);
        waitFor(() -> worker.featurizedCount() == 2L * PER_PARTITION);
        worker.close();
        run.get(10, TimeUnit.SECONDS);
        assertThat(base.passes.get()).isEqualTo(2 * PER_PARTITION / BATCH);
    }

    /**
     * With one batch in flight, the next forward pass waited for the poll thread to hand it over; a poll thread held
     * up elsewhere (a commit's round trips, or a core it does not get at its lower priority) idled the base.
     */
    @Test
    void queuedBatchRunsWhileThePollThreadIsStuckInACommit() throws Exception {
        int perPartition = 100; // 25 batches: more than the inference thread holds at once
        LogConsumer consumer = new LogConsumer(perPartition);
        java.util.concurrent.CountDownLatch commitEntered = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch releaseCommit = new java.util.concurrent.CountDownLatch(1);
        FailingProducer producer = new FailingProducer(consumer);
        producer.beforeCommit = () -> {
            commitEntered.countDown();
            try {
                releaseCommit.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        FakeBase base = new FakeBase(8).gated();
        FeatureWorker worker = worker(consumer, producer, base); // commits every batch
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);
        waitFor(() -> !consumer.paused().isEmpty()); // the first batch held in the base, the next ones waiting
        base.open();
        assertThat(commitEntered.await(10, TimeUnit.SECONDS)).as("the first batch's commit began").isTrue();
        // The poll thread stays in that commit. Before it, it sent the first batch and queued one more in its place,
        // so the inference thread holds maxInFlight batches behind the first: all of them run now.
        int held = FeatureWorker.maxInFlight(BATCH, FeatureWorkerOptions.DEFAULT_QUEUED_IMAGES);
        assertThat(1 + held).isLessThan(2 * perPartition / BATCH);
        waitFor(() -> base.passes.get() == 1 + held);
        Thread.sleep(200);
        assertThat(base.passes.get()).as("nothing more handed over while the poll thread is stuck").isEqualTo(1 + held);
        releaseCommit.countDown();
        waitFor(() -> worker.featurizedCount() == 2L * perPartition);
        worker.close();
        run.get(10, TimeUnit.SECONDS);
        assertThat(committedImageIds(producer)).hasSize(2 * perPartition).doesNotHaveDuplicates();
    }

    @Test
    void slowBasePausesAllPartitionsAndKeepsPollingInsteadOfBufferingWithoutBound() throws Exception {
        int perPartition = 100;
        LogConsumer consumer = new LogConsumer(perPartition);
        FailingProducer producer = new FailingProducer(consumer);
        FakeBase base = new FakeBase(8).gated();
        FeatureWorker worker = worker(consumer, producer, base);
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);
        assertThat(base.awaitForwardPass()).isTrue();
        waitFor(() -> !consumer.paused().isEmpty());
        int polls = consumer.polls.get();
        waitFor(() -> consumer.polls.get() > polls + 5);
        assertThat(consumer.paused()).as("every assigned partition paused").isEqualTo(consumer.assignment());
        long consumed = consumer.position(p0) + consumer.position(p1);
        assertThat(consumed).as("the batches in flight plus at most one poll beyond a full next batch")
                .isLessThanOrEqualTo((FeatureWorker.maxInFlight(BATCH, FeatureWorkerOptions.DEFAULT_QUEUED_IMAGES) + 2L) * BATCH - 1).isLessThan(2L * perPartition);
        base.open();
        waitFor(() -> worker.featurizedCount() == 2L * perPartition);
        assertThat(consumer.paused()).isEmpty();
        worker.close();
        run.get(10, TimeUnit.SECONDS);
        assertThat(committedImageIds(producer)).hasSize(2 * perPartition).doesNotHaveDuplicates();
    }

    @Test
    void partitionRevokedWhileItsBatchIsInFlightIsCommittedBeforeTheRevocationCompletes() throws Exception {
        LogConsumer consumer = new LogConsumer();
        FailingProducer producer = new FailingProducer(consumer);
        FakeBase base = new FakeBase(8).gated();
        FeatureWorker worker = worker(consumer, producer, base);
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);
        assertThat(base.awaitForwardPass()).isTrue(); // the first batch (p0's first records) is in flight
        assertThat(worker.assignment()).containsExactlyInAnyOrder(p0, p1);
        CompletableFuture<Long> committedAtRevocation = new CompletableFuture<>();
        consumer.schedulePollTask(() -> {
            consumer.rebalance(List.of(p1)); // revokes p0 (cooperative: p1 stays)
            committedAtRevocation.complete(producer.committedOffsets.getOrDefault(p0, 0L));
        });
        Thread.sleep(200); // the task runs inside a poll while the batch is still held
        base.open();
        long p0Committed = committedAtRevocation.get(20, TimeUnit.SECONDS);
        assertThat(p0Committed).as("p0's in-flight records were committed inside onPartitionsRevoked").isPositive();
        waitFor(() -> run.isCompletedExceptionally() || producer.committedOffsets.getOrDefault(p1, 0L) == PER_PARTITION);
        assertThat(run).as("the worker goes on after the revocation").isNotDone();
        assertThat(worker.assignment()).containsExactly(p1);
        worker.close();
        run.get(10, TimeUnit.SECONDS);
        List<String> ids = committedImageIds(producer);
        assertThat(ids).doesNotHaveDuplicates().hasSize((int) p0Committed + PER_PARTITION);
        assertThat(ids).filteredOn(id -> id.startsWith("img-0-")).hasSize((int) p0Committed);
    }

    /**
     * A revocation used to finish every in-flight batch first: with 128 queued images, up to 128 forward passes
     * (3–4 s at 224 px and batch 1) before the group could move on. It waits for the started batch only; the queued
     * ones are dropped, and the kept partition's records in them are read again.
     */
    @Test
    void revocationWaitsForTheRunningBatchNotTheWholeQueue() throws Exception {
        int perPartition = 20; // p0's 20 and p1's 20 in five batches, one of them mixed: all in flight at once
        LogConsumer consumer = new LogConsumer(perPartition);
        FailingProducer producer = new FailingProducer(consumer);
        FakeBase base = new FakeBase(8).gated();
        FeatureWorker worker = worker(consumer, producer, base);
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);
        assertThat(base.awaitForwardPass()).isTrue(); // p0's first 8 are in the base, held there
        waitFor(() -> consumer.position(p1) == perPartition); // and the four batches after them queued
        CompletableFuture<Integer> passesAtRevocation = new CompletableFuture<>();
        java.util.concurrent.CountDownLatch revoking = new java.util.concurrent.CountDownLatch(1);
        consumer.schedulePollTask(() -> {
            revoking.countDown();
            consumer.rebalance(List.of(p1)); // revokes p0 (cooperative: p1 stays)
            passesAtRevocation.complete(base.passes.get());
        });
        assertThat(revoking.await(20, TimeUnit.SECONDS)).isTrue();
        Thread.sleep(100); // the revocation is waiting for the held batch now
        base.open();
        assertThat(passesAtRevocation.get(20, TimeUnit.SECONDS))
                .as("forward passes started before the revocation completed: the running batch's only").isEqualTo(1);
        assertThat(producer.committedOffsets.get(p0)).as("p0's running batch committed inside onPartitionsRevoked")
                .isEqualTo((long) BATCH);
        waitFor(() -> run.isCompletedExceptionally() || producer.committedOffsets.getOrDefault(p1, 0L) == perPartition);
        worker.close();
        run.get(10, TimeUnit.SECONDS);
        List<String> ids = committedImageIds(producer);
        assertThat(ids).doesNotHaveDuplicates().hasSize(BATCH + perPartition);
        assertThat(ids).filteredOn(id -> id.startsWith("img-1-")).as("p1's dropped records read again")
                .hasSize(perPartition);
    }

    /**
     * The decode thread runs below the forward pass's priority; on a machine busy with other work it may not get a
     * core for a long time. The inference thread used to wait for it on every queued batch (a priority inversion);
     * it now decodes a batch itself when the decode thread has not begun it. Here the decode thread never runs.
     */
    @Test
    void stuckDecodeThreadDoesNotHoldUpTheForwardPasses() throws Exception {
        LogConsumer consumer = new LogConsumer();
        FailingProducer producer = new FailingProducer(consumer);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger decodeThreadTasksRun = new java.util.concurrent.atomic.AtomicInteger();
        FakeBase base = new FakeBase(8).gated(); // the first pass waits until the other batches are queued
        FeatureWorkerOptions opts = new FeatureWorkerOptions(TOPICS, "g", "w-0", BATCH, Duration.ofMillis(50),
                Duration.ofSeconds(5), Duration.ofMillis(10)).withBackgroundNice(0);
        FeatureWorker worker = new FeatureWorker(opts, () -> consumer, () -> producer,
                new BatchFeaturizer(base, new ImageDecoder()), () -> {
                    java.util.concurrent.ExecutorService stuck = java.util.concurrent.Executors.newSingleThreadExecutor();
                    stuck.execute(() -> {
                        try {
                            release.await(); // everything submitted after this waits
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    });
                    return new java.util.concurrent.AbstractExecutorService() { // counts the tasks it runs
                        @Override public void execute(Runnable r) { stuck.execute(() -> { decodeThreadTasksRun.incrementAndGet(); r.run(); }); }
                        @Override public void shutdown() { stuck.shutdown(); }
                        @Override public List<Runnable> shutdownNow() { return stuck.shutdownNow(); }
                        @Override public boolean isShutdown() { return stuck.isShutdown(); }
                        @Override public boolean isTerminated() { return stuck.isTerminated(); }
                        @Override public boolean awaitTermination(long t, TimeUnit u) throws InterruptedException {
                            return stuck.awaitTermination(t, u);
                        }
                    };
                });
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);
        waitFor(() -> base.passes.get() == 1 && consumer.position(p1) == PER_PARTITION); // the rest queued
        base.open();
        try {
            drainAndStop(worker, run, producer);
        } finally {
            release.countDown();
        }
        assertThat(decodeThreadTasksRun.get()).as("the decode thread ran nothing").isZero();
        assertThat(worker.inferenceTime().decodedHereBatches())
                .as("the batches queued behind a running one, decoded on the inference thread")
                .isEqualTo(2 * PER_PARTITION / BATCH - 1);
    }

    @Test
    void transactionSpansEveryBatchFinishedWithinTheCommitIntervalAndCommitsWhenNothingIsInFlight() throws Exception {
        LogConsumer consumer = new LogConsumer();
        FailingProducer producer = new FailingProducer(consumer);
        // 200 ms per pass: the next batch is always assembled before the current one ends, so nothing is idle
        // until the last batch; the 30 s interval never comes due.
        FeatureWorker worker = worker(consumer, producer, new FakeBase(8).slow(200), Duration.ofSeconds(30));
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);
        drainAndStop(worker, run, producer);
        assertThat(worker.batchCount()).isEqualTo(2 * PER_PARTITION / BATCH);
        assertThat(producer.commits.get()).as("one transaction for all five batches").isEqualTo(1);
        FeatureWorker.InferenceTime time = worker.inferenceTime();
        assertThat(time.forwardNanos()).as("five passes of at least 200 ms").isGreaterThanOrEqualTo(5 * 200_000_000L);
        assertThat(time.busyNanos()).isEqualTo(time.decodeNanos() + time.forwardNanos() + time.encodeNanos());
        assertThat(producer.committedOffsets).containsEntry(p0, (long) PER_PARTITION).containsEntry(p1, (long) PER_PARTITION);
    }

    @Test
    void partitionsLostWithAnOpenTransactionAbortItAndRewindWithoutLossOrDuplicate() throws Exception {
        int perPartition = 100; // 25 batches of 100 ms: far from done when the partition is lost
        LogConsumer consumer = new LogConsumer(perPartition);
        FailingProducer producer = new FailingProducer(consumer);
        FakeBase base = new FakeBase(8).slow(100);
        FeatureWorker worker = worker(consumer, producer, base, Duration.ofSeconds(30));
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);
        waitFor(() -> base.passes.get() >= 3); // at least one batch sent in the open transaction
        CompletableFuture<Void> lost = new CompletableFuture<>();
        consumer.schedulePollTask(() -> {
            consumer.listener.onPartitionsLost(List.of(p0)); // fenced out: p1 stays assigned in this mock
            lost.complete(null);
        });
        lost.get(10, TimeUnit.SECONDS);
        assertThat(worker.assignment()).as("p0 lost, p1 kept").containsExactly(p1);
        assertThat(producer.aborts.get()).as("the open transaction was aborted").isEqualTo(1);
        assertThat(producer.commits.get()).isZero();
        drainAndStop(worker, run, producer, perPartition);
        assertThat(consumer.seeks.get()).as("rewound to the committed offsets").isPositive();
    }

    @Test
    void closeCommitsTheBatchesAlreadySentButNotTheOneInFlight() throws Exception {
        LogConsumer consumer = new LogConsumer();
        FailingProducer producer = new FailingProducer(consumer);
        FakeBase base = new FakeBase(8).holdFrom(1); // the first batch passes, the second is held
        FeatureWorker worker = worker(consumer, producer, base, Duration.ofSeconds(30));
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);
        waitFor(() -> base.passes.get() == 2); // the first batch is sent in the open transaction, the second in flight
        Thread.sleep(100);
        assertThat(producer.commits.get()).as("nothing committed while the interval runs and a batch is in flight").isZero();
        CompletableFuture<Void> closing = CompletableFuture.runAsync(worker::close);
        Thread.sleep(200);
        base.open();
        closing.get(10, TimeUnit.SECONDS);
        run.get(10, TimeUnit.SECONDS);
        assertThat(producer.commits.get()).isEqualTo(1);
        assertThat(worker.featurizedCount()).isEqualTo(BATCH);
        assertThat(committedImageIds(producer)).hasSize(BATCH).doesNotHaveDuplicates();
        assertThat(producer.committedOffsets.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(BATCH);
    }

    /**
     * With two inference lanes a later batch can finish before an earlier one. Sending it first would put its
     * partition's offset ahead of the earlier batch's records in the open transaction (and with the next commit,
     * lose them on a crash). Here the first forward pass (on whichever lane takes it) waits until the other lane has
     * finished two later batches; the first batch's features must still be the first records sent.
     */
    @Test
    void batchFinishedOnAnotherLaneBeforeAnEarlierOneIsSentAfterIt() throws Exception {
        LogConsumer consumer = new LogConsumer();
        FailingProducer producer = new FailingProducer(consumer);
        AtomicInteger started = new AtomicInteger();
        java.util.concurrent.CountDownLatch laterDone = new java.util.concurrent.CountDownLatch(2);
        java.util.Set<String> laneThreads = java.util.concurrent.ConcurrentHashMap.newKeySet();
        List<dev.graft.common.base.BaseNetwork> copies = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            copies.add(new FakeBase(8) {
                @Override
                public List<org.nd4j.linalg.api.ndarray.INDArray> extractAll(org.nd4j.linalg.api.ndarray.INDArray rgb255) {
                    laneThreads.add(Thread.currentThread().getName());
                    if (started.getAndIncrement() == 0) {
                        try {
                            if (!laterDone.await(20, TimeUnit.SECONDS)) throw new IllegalStateException("no later batch finished");
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new IllegalStateException(e);
                        }
                        return super.extractAll(rgb255);
                    }
                    List<org.nd4j.linalg.api.ndarray.INDArray> out = super.extractAll(rgb255);
                    laterDone.countDown();
                    return out;
                }
            });
        }
        FeatureWorker worker = lanesWorker(consumer, producer, copies, Duration.ZERO);
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);
        drainAndStop(worker, run, producer);
        assertThat(laterDone.getCount()).as("two later batches finished while the first one ran").isZero();
        assertThat(laneThreads).as("both lanes ran forward passes").hasSize(2);
        List<String> firstSent;
        try (FeatureBatchCodec codec = new FeatureBatchCodec()) {
            firstSent = codec.decode(producer.history().get(0).value()).stream().map(FeatureRow::imageId).toList();
        }
        List<String> firstBatch = new ArrayList<>();
        for (int i = 0; i < BATCH; i++) firstBatch.add("img-0-" + i);
        assertThat(firstSent).as("the first batch's features are sent first").containsExactlyElementsOf(firstBatch);
        assertThat(producer.committedOffsets).containsEntry(p0, (long) PER_PARTITION).containsEntry(p1, (long) PER_PARTITION);
    }

    @ParameterizedTest(name = "commit interval {0} ms, commit {1} fails")
    @CsvSource({"0, 2", "30000, 1"})
    void retriableCommitFailureWithTwoLanesRewindsAndReprocessesWithoutLossOrDuplicate(long intervalMs, int failing)
            throws Exception {
        LogConsumer consumer = new LogConsumer();
        FailingProducer producer = new FailingProducer(consumer);
        producer.failCommitNumber.set(failing);
        producer.failure = new KafkaException("injected: coordinator went away during commit");
        FeatureWorker worker = lanesWorker(consumer, producer,
                List.of(new FakeBase(8).slow(50), new FakeBase(8).slow(50)), Duration.ofMillis(intervalMs));
        CompletableFuture<Void> run = CompletableFuture.runAsync(worker);
        drainAndStop(worker, run, producer);
        assertThat(producer.aborts.get()).as("the failed transaction was aborted").isEqualTo(1);
        assertThat(producer.committedOffsets).containsEntry(p0, (long) PER_PARTITION).containsEntry(p1, (long) PER_PARTITION);
        assertThat(consumer.seeks.get()).as("rewound to the committed offsets").isPositive();
    }

    @Test
    void lanesOfDifferentBasesAreRefused() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> BatchFeaturizer.lanes(
                        List.of(new FakeBase(8), new FakeBase(16)), new ImageDecoder(), 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("copies of one base");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FeatureWorker.create(
                        FeatureWorkerOptions.defaults(TOPICS, "g", "w").withLanes(2),
                        dev.graft.common.kafka.KafkaSettings.of("localhost:1"), List.of(new FakeBase(8))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 inference lanes need as many copies");
    }

    private static FeatureWorker lanesWorker(LogConsumer consumer, FailingProducer producer,
                                             List<dev.graft.common.base.BaseNetwork> copies, Duration commitInterval) {
        FeatureWorkerOptions opts = new FeatureWorkerOptions(TOPICS, "g", "w-0", BATCH, Duration.ofMillis(50),
                Duration.ofSeconds(5), Duration.ofMillis(10)).withCommitInterval(commitInterval).withBackgroundNice(0)
                .withLanes(copies.size());
        return new FeatureWorker(opts, () -> consumer, () -> producer,
                BatchFeaturizer.lanes(copies, new ImageDecoder(), FeatureWorker.maxInFlight(opts) + 1), null);
    }

    private static FeatureWorker worker(LogConsumer consumer, FailingProducer producer) {
        return worker(consumer, producer, new FakeBase(8));
    }

    /** A worker committing every batch (commit interval 0), so a test can name the n-th commit's batch. */
    private static FeatureWorker worker(LogConsumer consumer, FailingProducer producer, FakeBase base) {
        return worker(consumer, producer, base, Duration.ZERO);
    }

    private static FeatureWorker worker(LogConsumer consumer, FailingProducer producer, FakeBase base, Duration commitInterval) {
        FeatureWorkerOptions opts = new FeatureWorkerOptions(TOPICS, "g", "w-0", BATCH, Duration.ofMillis(50),
                Duration.ofSeconds(5), Duration.ofMillis(10)).withCommitInterval(commitInterval).withBackgroundNice(0);
        return new FeatureWorker(opts, () -> consumer, () -> producer, new BatchFeaturizer(base, new ImageDecoder()));
    }

    /** Lets the worker featurize every image, stops it, and checks that each was committed exactly once. */
    private static void drainAndStop(FeatureWorker worker, CompletableFuture<Void> run, FailingProducer producer)
            throws Exception {
        drainAndStop(worker, run, producer, PER_PARTITION);
    }

    private static void drainAndStop(FeatureWorker worker, CompletableFuture<Void> run, FailingProducer producer,
                                     int perPartition) throws Exception {
        waitFor(() -> worker.featurizedCount() == 2L * perPartition);
        worker.close();
        run.get(10, TimeUnit.SECONDS);
        assertThat(committedImageIds(producer)).as("every image exactly once in the committed output")
                .hasSize(2 * perPartition).doesNotHaveDuplicates();
    }

    private static List<String> committedImageIds(MockProducer<byte[], byte[]> producer) {
        List<String> ids = new ArrayList<>();
        try (FeatureBatchCodec codec = new FeatureBatchCodec()) {
            for (ProducerRecord<byte[], byte[]> r : producer.history()) {
                if (r.topic().equals(TOPICS.features())) {
                    for (FeatureRow row : codec.decode(r.value())) {
                        ids.add(row.imageId());
                    }
                }
            }
        }
        return ids;
    }

    private static void waitFor(java.util.function.BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within 30 s");
            }
            Thread.sleep(10);
        }
    }

    /** A MockConsumer over a fixed log of two partitions: polls re-deliver from the current position. */
    final class LogConsumer extends MockConsumer<byte[], byte[]> {
        final Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> log = new HashMap<>();
        final AtomicInteger seeks = new AtomicInteger();
        final AtomicInteger polls = new AtomicInteger();

        LogConsumer() {
            this(PER_PARTITION);
        }

        /** Two partitions of {@code perPartition} images each. */
        LogConsumer(int perPartition) {
            super("earliest");
            for (TopicPartition tp : List.of(p0, p1)) {
                List<ConsumerRecord<byte[], byte[]>> recs = new ArrayList<>();
                for (int i = 0; i < perPartition; i++) {
                    String id = "img-" + tp.partition() + "-" + i;
                    ConsumerRecord<byte[], byte[]> r = new ConsumerRecord<>(tp.topic(), tp.partition(), i,
                            id.getBytes(StandardCharsets.UTF_8), Corpus.fashionLikePng(i * 31L + tp.partition()));
                    ImageHeaders.put(r.headers(), ImageHeaders.TASK, "t");
                    ImageHeaders.put(r.headers(), ImageHeaders.SPLIT, "train");
                    recs.add(r);
                }
                log.put(tp, recs);
            }
            updateBeginningOffsets(Map.of(p0, 0L, p1, 0L));
            updateEndOffsets(Map.of(p0, (long) perPartition, p1, (long) perPartition));
            schedulePollTask(() -> rebalance(List.of(p0, p1)));
        }

        @Override
        public synchronized ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
            // One batch per poll (a real consumer returns at most max.poll.records, here fewer), from the current
            // position; none of paused partitions.
            polls.incrementAndGet();
            if (!assignment().isEmpty()) {
                int room = BATCH;
                for (TopicPartition tp : List.of(p0, p1)) {
                    if (!assignment().contains(tp) || paused().contains(tp)) continue;
                    long pos = position(tp);
                    for (ConsumerRecord<byte[], byte[]> r : log.get(tp)) {
                        if (r.offset() >= pos && room > 0) {
                            addRecord(r);
                            room--;
                        }
                    }
                }
            }
            ConsumerRecords<byte[], byte[]> out = super.poll(timeout);
            if (out.isEmpty()) {
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return out;
        }

        /** The worker's rebalance listener, to call {@code onPartitionsLost} as a fenced member's consumer does. */
        volatile org.apache.kafka.clients.consumer.ConsumerRebalanceListener listener;

        @Override
        public synchronized void subscribe(java.util.Collection<String> topics,
                                           org.apache.kafka.clients.consumer.ConsumerRebalanceListener l) {
            listener = l;
            super.subscribe(topics, l);
        }

        @Override
        public synchronized void seek(TopicPartition partition, long offset) {
            seeks.incrementAndGet();
            super.seek(partition, offset);
        }
    }

    /** A transactional MockProducer whose n-th commit throws; successful commits also commit the consumer's offsets. */
    static final class FailingProducer extends MockProducer<byte[], byte[]> {
        final LogConsumer consumer;
        final AtomicInteger commits = new AtomicInteger();
        final AtomicInteger failCommitNumber = new AtomicInteger(-1);
        final AtomicInteger aborts = new AtomicInteger();
        /** Offsets committed by successful transactions (the mock consumer forgets those of unassigned partitions). */
        final Map<TopicPartition, Long> committedOffsets = new java.util.concurrent.ConcurrentHashMap<>();
        volatile RuntimeException failure;
        /** Runs on the committing thread at the start of every commitTransaction (a test may block it there). */
        volatile Runnable beforeCommit = () -> { };

        FailingProducer(LogConsumer consumer) {
            super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
            this.consumer = consumer;
            initTransactions();
        }

        @Override
        public void commitTransaction() {
            beforeCommit.run();
            if (commits.incrementAndGet() == failCommitNumber.get()) {
                throw failure;
            }
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            uncommittedOffsets().values().forEach(offsets::putAll);
            super.commitTransaction();
            offsets.forEach((tp, om) -> committedOffsets.put(tp, om.offset()));
            consumer.commitSync(offsets); // what the group coordinator does when the transaction commits
        }

        @Override
        public void abortTransaction() {
            aborts.incrementAndGet();
            super.abortTransaction();
        }
    }
}
