package dev.graft.featureworker;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.DeadLetterHeaders;
import dev.graft.common.contract.FeatureBatchCodec;
import dev.graft.common.contract.FeatureHeaders;
import dev.graft.common.contract.FeatureRow;
import dev.graft.common.image.ImageDecoder;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.PollLoopLifecycle;
import dev.graft.common.kafka.Transactions;
import dev.graft.common.os.ThreadNice;
import dev.graft.featureworker.internal.BatchFeaturizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The feature worker's poll loop: consume images, featurize a batch, and in ONE Kafka transaction
 * write the Arrow feature batches (one per cut and task), the dead letters of rejected images and the input
 * offsets ({@code sendOffsetsToTransaction} with the group metadata). Downstream readers use
 * {@code read_committed}, so every image's vector appears exactly once or not at all.
 *
 * <p>Threads: the poll thread ({@link #run()}) alone owns the consumer and the producer; the forward pass and
 * Arrow encoding run on one inference thread, or on {@link FeatureWorkerOptions#lanes()} of them (lanes: each with
 * its own copy of the base, taking queued batches in order from one queue; batches finished out of order are still
 * sent in the order they were queued, so each partition's offsets only move forward). Below, "the inference
 * thread" stands for the lanes. At most {@link #maxInFlight(int, int)} batches are in flight there:
 * one running and full ones queued behind it (at least one, and {@link FeatureWorkerOptions#queuedImages()} images in
 * all), so the next
 * forward pass starts the moment the last one ends, without waiting for the poll thread (which runs at a lower
 * priority and gets a core mostly when the inference thread has nothing to do) to hand it over. When the next batch
 * is full too, all
 * assigned partitions are paused (poll() keeps being called, so the group membership and rebalances go on) and
 * resumed when the oldest in-flight batch returns. With {@link FeatureWorkerOptions#decodeAhead()} a batch queued
 * behind a running one is decoded at once on a decode thread, while the running one goes through the base (without
 * it, or when nothing runs, the inference thread decodes before its forward pass). A finished batch's records are
 * sent on the poll thread while the next batch runs, so Kafka round trips overlap with inference. They go into the
 * open transaction, which holds every batch finished within {@link FeatureWorkerOptions#commitInterval()} and commits (sendOffsetsToTransaction
 * with the input offsets of all of them, then commit) when it has been open that long or nothing is in flight:
 * at a steady rate a transaction spans several batches, and when the input stops the last one commits at once.
 * Memory stays bounded: the batches in flight plus one poll's worth of records ({@code max.poll.records} is what
 * the inference thread can take at once) and the in-flight batches' pixels (sent records are the producer's).
 *
 * <p>Rebalances (cooperative-sticky): assembled records of a revoked partition are dropped (their new owner
 * starts from the committed offsets). When in-flight batches hold a revoked partition's records, the revocation
 * waits for the forward passes already started, not for the whole queue: the queued batches are dropped (the kept
 * partitions are sought back to their first dropped record, so those are read again), the started ones sent, and
 * the open transaction committed, inside {@code onPartitionsRevoked}, before the revocation completes, so the
 * new owner sees its offsets. Lost partitions (this
 * member was fenced out of the group): the in-flight batches are discarded, the open transaction aborted and the
 * remaining partitions rewound to their committed offsets.
 *
 * <p>{@link #close()} may be called from any thread and stops the loop through {@code wakeup()}; the open
 * transaction (batches already sent) is committed, the running batch is waited for and a queued one dropped (neither
 * is committed) and the
 * inference thread ends before {@link #run()} returns. Errors
 * are tiered: fencing, authorization, sequence and version errors (also when the producer wraps them) are fatal,
 * as are a failing abort and an error escaping the featurizer (it turns each bad image into a dead letter, so
 * what escapes is a broken worker); any other Kafka error aborts the transaction, discards the in-flight batch,
 * rewinds to the committed offsets and retries: every batch of the open transaction is featurized again.
 */
public final class FeatureWorker implements Runnable, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FeatureWorker.class);
    private static final Duration POLL = Duration.ofMillis(100);
    /** Poll timeout while a batch is in flight and the next one still has room: how late a finished batch is seen. */
    private static final Duration POLL_IN_FLIGHT = Duration.ofMillis(10);
    /**
     * Batches on the inference thread at once for {@code batchSize} and {@code queuedImages}
     * ({@link FeatureWorkerOptions#queuedImages()}): at least two (the running one and one queued behind it, so no
     * forward pass waits for the poll thread to notice the last one's end), and enough for {@code queuedImages}.
     */
    static int maxInFlight(int batchSize, int queuedImages) {
        return maxInFlight(batchSize, queuedImages, 1);
    }

    /** As above with {@code lanes} inference lanes: at least one batch running on each and one queued behind them. */
    static int maxInFlight(int batchSize, int queuedImages, int lanes) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (queuedImages < 1) throw new IllegalArgumentException("queued images must be >= 1, got " + queuedImages);
        if (lanes < 1) throw new IllegalArgumentException("lanes must be >= 1, got " + lanes);
        return Math.max(lanes + 1, (queuedImages + batchSize - 1) / batchSize);
    }

    static int maxInFlight(FeatureWorkerOptions o) {
        return maxInFlight(o.batchSize(), o.queuedImages(), o.lanes());
    }

    private final FeatureWorkerOptions options;
    private final Supplier<Consumer<byte[], byte[]>> consumerFactory;
    private final Supplier<Producer<byte[], byte[]>> producerFactory;
    /** The decode thread's executor; null: the worker's own ("graft-decode-" + worker id). */
    private final Supplier<ExecutorService> decodeThreadFactory;
    /** One featurizer per inference lane (its own base copy), sharing pixel buffers; empty in tests that never run. */
    private final List<BatchFeaturizer> lanes;
    /** The featurizer of the lane running on this thread; set when a lane thread starts. */
    private final ThreadLocal<BatchFeaturizer> lane = new ThreadLocal<>();
    private final Map<String, BaseRef> refsById = new HashMap<>();

    private final PollLoopLifecycle lifecycle = new PollLoopLifecycle();
    private final AtomicLong featurized = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    /** Inference-thread time (ns) spent getting a batch's pixels, in the forward pass and encoding the features. */
    private final AtomicLong decodeNanos = new AtomicLong();
    private final AtomicLong forwardNanos = new AtomicLong();
    private final AtomicLong encodeNanos = new AtomicLong();
    /** Queued batches the inference thread decoded itself (the decode thread had not begun them). */
    private final AtomicLong decodedHere = new AtomicLong();
    /** Queued images dropped at revocations, not started. */
    private final AtomicLong droppedAtRevocation = new AtomicLong();
    /** Poll-thread time (ns) blocked in sending offsets and committing, and how many commits. */
    private final AtomicLong commitNanos = new AtomicLong();
    private final AtomicLong commits = new AtomicLong();
    private final AtomicLong longestCommitNanos = new AtomicLong();

    // Owned by the poll thread.
    /** Records consumed but not yet handed to the inference thread, in arrival order. */
    private final List<ConsumerRecord<byte[], byte[]>> pending = new ArrayList<>();
    private long oldestPendingNanos;
    /** The batches handed to the inference thread, oldest (running or done) first; at most {@link #maxInFlight}. */
    private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
    private final int maxInFlight;
    private boolean paused;
    private boolean rewindNeeded;
    private Consumer<byte[], byte[]> consumer;
    private Producer<byte[], byte[]> producer;
    private ExecutorService inference;
    /** Decodes a batch queued on the inference thread while the one before it runs; null without decode-ahead. */
    private ExecutorService decoding;
    /** Batches sent in the open transaction, not yet committed; null when no transaction is open. */
    private OpenTransaction open;

    /**
     * A batch handed to the inference thread: its records, its pixels being decoded on the decode thread (null when
     * the inference thread decodes it) and the records to send once it is done. {@code taken} is set once, by
     * whichever comes first: the inference thread starting the batch, or the poll thread dropping it ({@link
     * #cancelNotStarted}); a {@code Future} cannot tell a running task from a queued one.
     */
    private record InFlight(List<ConsumerRecord<byte[], byte[]>> batch, Future<BatchFeaturizer.Decoded> decoded,
                            Future<Output> output, long startNanos, AtomicBoolean taken) {
        boolean holdsAny(Collection<TopicPartition> partitions) {
            for (ConsumerRecord<byte[], byte[]> r : batch) {
                if (partitions.contains(new TopicPartition(r.topic(), r.partition()))) return true;
            }
            return false;
        }
    }

    /** The open transaction: begun when its first batch was sent, the next offsets of all its batches. */
    private static final class OpenTransaction {
        final long beganNanos = System.nanoTime();
        final Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        final List<Sent> batches = new ArrayList<>();

        boolean holdsAny(Collection<TopicPartition> partitions) {
            for (TopicPartition tp : offsets.keySet()) {
                if (partitions.contains(tp)) return true;
            }
            return false;
        }
    }

    /** A batch sent in the open transaction: what it held, and when it started, for the listener. */
    private record Sent(Output output, long startNanos) {}

    /** What a featurized batch sends: encoded feature batches and dead letters. */
    private record Output(List<ProducerRecord<byte[], byte[]>> records, int images, List<BatchFeaturizer.Rejection> rejections) {}

    /** A worker with one inference lane ({@code options.lanes()} must be 1). */
    public FeatureWorker(FeatureWorkerOptions options, Supplier<Consumer<byte[], byte[]>> consumerFactory,
                         Supplier<Producer<byte[], byte[]>> producerFactory, BatchFeaturizer featurizer) {
        this(options, consumerFactory, producerFactory, featurizer == null ? List.of() : List.of(featurizer), null);
    }

    /** As above, with the decode thread's executor from {@code decodeThreadFactory} (tests hold it up). */
    FeatureWorker(FeatureWorkerOptions options, Supplier<Consumer<byte[], byte[]>> consumerFactory,
                  Supplier<Producer<byte[], byte[]>> producerFactory, BatchFeaturizer featurizer,
                  Supplier<ExecutorService> decodeThreadFactory) {
        this(options, consumerFactory, producerFactory, List.of(featurizer), decodeThreadFactory);
    }

    /**
     * A worker with one inference lane per featurizer ({@link BatchFeaturizer#lanes}; as many as
     * {@code options.lanes()}), the decode thread's executor from {@code decodeThreadFactory} (null: its own).
     */
    FeatureWorker(FeatureWorkerOptions options, Supplier<Consumer<byte[], byte[]>> consumerFactory,
                  Supplier<Producer<byte[], byte[]>> producerFactory, List<BatchFeaturizer> lanes,
                  Supplier<ExecutorService> decodeThreadFactory) {
        if (!lanes.isEmpty() && lanes.size() != options.lanes()) {
            throw new IllegalArgumentException(options.lanes() + " inference lanes need as many featurizers, got " + lanes.size());
        }
        this.options = options;
        this.consumerFactory = consumerFactory;
        this.producerFactory = producerFactory;
        this.decodeThreadFactory = decodeThreadFactory;
        this.lanes = List.copyOf(lanes);
        this.maxInFlight = maxInFlight(options);
        if (!lanes.isEmpty()) {
            for (BaseRef r : lanes.get(0).baseRefs()) refsById.put(r.id(), r);
        }
    }

    /** A worker on a Kafka cluster with one inference lane ({@code options.lanes()} must be 1). */
    public static FeatureWorker create(FeatureWorkerOptions options, KafkaSettings kafka, BaseNetwork base) {
        return create(options, kafka, List.of(base));
    }

    /**
     * A worker on a Kafka cluster: group consumer polling at most what its lanes can take at once, transactional
     * producer, one inference lane per copy of the base in {@code laneBases} (as many as {@code options.lanes()};
     * the caller closes them after the worker ends).
     */
    public static FeatureWorker create(FeatureWorkerOptions options, KafkaSettings kafka, List<BaseNetwork> laneBases) {
        if (laneBases.size() != options.lanes()) {
            throw new IllegalArgumentException(options.lanes() + " inference lanes need as many copies of the base, got "
                    + laneBases.size());
        }
        KafkaSettings k = clientSettings(options, kafka);
        return new FeatureWorker(options, () -> k.consumer(options.groupId()),
                () -> k.transactionalProducer(options.transactionalId()),
                BatchFeaturizer.lanes(laneBases, new ImageDecoder(), maxInFlight(options) + 1, options.batchSize()), null);
    }

    /** Producer batches up to this size, so a transaction's small feature records go in a few requests. */
    static final int PRODUCER_BATCH_BYTES = 1024 * 1024;

    /**
     * The worker's client settings: the consumer polls at most what the inference thread can take at once
     * ({@link #maxInFlight} batches); the producer lingers up to the commit
     * interval and batches up to {@link #PRODUCER_BATCH_BYTES}. Readers use {@code read_committed}, so a feature
     * record is invisible until its transaction commits, and {@code commitTransaction} sends whatever still lingers:
     * waiting for the commit delays nothing anyone can see, and at batch 1 it turns one produce request per image
     * into a few per transaction. {@code linger.ms} and {@code batch.size} given as pass-through properties win.
     */
    static KafkaSettings clientSettings(FeatureWorkerOptions options, KafkaSettings kafka) {
        return kafka.with("max.poll.records", String.valueOf(options.batchSize() * maxInFlight(options)))
                .withDefault("linger.ms", String.valueOf(Math.max(5, options.commitInterval().toMillis())))
                .withDefault("batch.size", String.valueOf(PRODUCER_BATCH_BYTES));
    }

    public long featurizedCount() {
        return featurized.get();
    }

    public long deadLetterCount() {
        return deadLettered.get();
    }

    /**
     * Queued images dropped at revocations before the inference thread started them: the revoked partitions' go to
     * their new owner, the kept partitions' are read again.
     */
    public long droppedAtRevocationCount() {
        return droppedAtRevocation.get();
    }

    public long batchCount() {
        return batches.get();
    }

    /**
     * Where the inference thread's time went, summed over every batch it finished (committed or not): waiting for
     * or doing the decode, the forward pass, encoding the features. What the run's wall time leaves over is idle.
     * {@code decodedHereBatches}: queued batches it decoded itself because the decode thread had not begun them.
     */
    public record InferenceTime(long decodeNanos, long forwardNanos, long encodeNanos, long decodedHereBatches) {
        public long busyNanos() {
            return decodeNanos + forwardNanos + encodeNanos;
        }
    }

    public InferenceTime inferenceTime() {
        return new InferenceTime(decodeNanos.get(), forwardNanos.get(), encodeNanos.get(), decodedHere.get());
    }

    /**
     * The poll thread's time blocked committing ({@code sendOffsetsToTransaction} and {@code commitTransaction}),
     * summed over {@code commits} successful commits, and the longest one: while it lasts, nothing new reaches the
     * inference thread.
     */
    public record CommitTime(long commits, long nanos, long longestNanos) {}

    public CommitTime commitTime() {
        return new CommitTime(commits.get(), commitNanos.get(), longestCommitNanos.get());
    }

    /** The images-topic partitions this worker holds now (empty before it joined its group and after it left). */
    public Set<TopicPartition> assignment() {
        return assignment;
    }

    /** Written by the rebalance listener on the poll thread, read by anyone. */
    private volatile Set<TopicPartition> assignment = Set.of();

    /** Called on the poll thread after each committed batch (metrics hook). */
    public interface BatchListener {
        void committed(int featurized, int deadLettered, long nanos);
    }

    private volatile BatchListener batchListener = (f, d, n) -> { };

    public void onBatch(BatchListener listener) {
        this.batchListener = listener;
    }

    @Override
    public void run() {
        lifecycle.started();
        MDC.put("worker", options.workerId());
        ExecutorService exec = inferenceLanes();
        lowerBackgroundPriority(); // after the lane threads started, before the threads that should yield to them
        ExecutorService dec = !options.decodeAhead() ? null
                : decodeThreadFactory != null ? decodeThreadFactory.get() : workerThread("graft-decode-");
        FeatureBatchCodec codec = new FeatureBatchCodec();
        try (Consumer<byte[], byte[]> c = consumerFactory.get();
             Producer<byte[], byte[]> p = producerFactory.get()) {
            inference = exec;
            decoding = dec;
            consumer = c;
            producer = p;
            lifecycle.owns(c);
            // the producer factory returns a producer after initTransactions(), which fenced any predecessor
            c.subscribe(List.of(options.topics().images()), new Rebalance());
            log.info("feature worker {} consuming {} (group {})", options.workerId(), options.topics().images(), options.groupId());
            try {
                loop(c, p, codec);
            } finally {
                discardInFlight(); // before the clients close: closing the consumer revokes its partitions
                clearPending();    // not committed: the group's next owner featurizes them
            }
        } finally {
            try {
                stop(exec, "inference");
                if (dec != null) {
                    stop(dec, "decode");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                codec.close();
                consumer = null;
                producer = null;
                lifecycle.finished();
                MDC.remove("worker");
            }
        }
    }

    /** HotSpot's JIT compiler threads, as the kernel names them (15 characters). */
    private static final List<String> JIT_THREAD_NAMES = List.of("C1 CompilerThre", "C2 CompilerThre");

    /**
     * Lowers this (the poll) thread's priority as {@link FeatureWorkerOptions#backgroundPolicy()} says:
     * {@code SCHED_IDLE}, or the nice value {@link FeatureWorkerOptions#backgroundNice()}; the decode thread and the
     * Kafka clients' threads, started by it afterwards, inherit it. So do the JVM's JIT compiler threads running now:
     * compiling is background work too (in {@code graft bench features} the JIT compiled for minutes, at 1-7 CPU-ms per
     * image at batch 1, with the broker in the same JVM or in another one). Where that is not possible (not Linux, the call refused) the worker runs on at equal
     * priorities and says so once.
     */
    private void lowerBackgroundPriority() {
        boolean idle = options.backgroundPolicy() == FeatureWorkerOptions.BackgroundPolicy.IDLE;
        if (!idle && options.backgroundNice() == 0) {
            return;
        }
        try {
            String now;
            if (idle) {
                ThreadNice.idleCurrentThread();
                now = "SCHED_IDLE";
            } else {
                now = "nice " + ThreadNice.lowerCurrentThread(options.backgroundNice());
            }
            int jit = 0;
            for (String name : JIT_THREAD_NAMES) {
                for (int tid : ThreadNice.threadsNamed(name)) {
                    try {
                        if (idle) {
                            ThreadNice.idle(tid);
                        } else {
                            ThreadNice.lower(tid, options.backgroundNice());
                        }
                        jit++;
                    } catch (IOException e) {
                        if (ThreadNice.alive(tid)) throw e; // else the JVM retired that compiler thread meanwhile
                    }
                }
            }
            log.info("worker {}: poll, decode and Kafka client threads at {} ({} JIT compiler threads too), "
                    + "forward pass at the caller's priority", options.workerId(), now, jit);
        } catch (IOException | UnsupportedOperationException e) {
            log.warn("worker {}: cannot lower the priority of its background threads ({}); they compete with the forward pass",
                    options.workerId(), e.getMessage());
        }
    }

    /** A daemon single-thread executor named after this worker, its thread carrying the worker's MDC. */
    private ExecutorService workerThread(String prefix) {
        ExecutorService e = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, prefix + options.workerId());
            t.setDaemon(true);
            return t;
        });
        e.execute(() -> MDC.put("worker", options.workerId()));
        return e;
    }

    private void stop(ExecutorService e, String what) throws InterruptedException {
        e.shutdownNow();
        if (!e.awaitTermination(options.shutdownTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
            log.warn("{} thread of {} did not end within {}", what, options.workerId(), options.shutdownTimeout());
        }
    }

    /**
     * The inference lanes: {@code options.lanes()} threads taking batches in order from one queue, all started now
     * (so they keep the caller's priority). Each first sets up what is per thread: the worker's MDC, its lane's
     * featurizer, its OpenMP thread count ({@code ompThreads}; OpenMP's is per calling thread), and with
     * {@code warmUp} one forward pass, while the consumer joins (the first batch queues behind it).
     */
    private ExecutorService inferenceLanes() {
        int n = options.lanes();
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.ThreadPoolExecutor e = new java.util.concurrent.ThreadPoolExecutor(n, n, 0,
                TimeUnit.MILLISECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
            int i = next.getAndIncrement();
            Thread t = new Thread(() -> {
                MDC.put("worker", options.workerId());
                if (!lanes.isEmpty()) lane.set(lanes.get(i % lanes.size()));
                try {
                    if (options.ompThreads() > 0) BaseNetworks.setOmpThreadsOfThisThread(options.ompThreads());
                } catch (RuntimeException | LinkageError ex) { // the lane must still take its batches
                    log.warn("lane {}: cannot set {} OpenMP threads, runs with the process default: {}", i,
                            options.ompThreads(), ex.toString());
                }
                if (options.warmUp() && !lanes.isEmpty()) warmUp();
                r.run();
            }, "graft-inference-" + options.workerId() + (n == 1 ? "" : "-" + i));
            t.setDaemon(true);
            return t;
        });
        e.prestartAllCoreThreads();
        return e;
    }

    /** On a lane's thread, before its first batch. A failure is logged: the first real batch meets it again. */
    private void warmUp() {
        long t0 = System.nanoTime();
        try {
            lane.get().warmUp(options.batchSize());
            log.info("inference thread warmed up in {} ms", (System.nanoTime() - t0) / 1_000_000);
        } catch (RuntimeException e) {
            log.warn("warm-up forward pass failed (the first batch will show it again): {}", e.toString());
        }
    }

    private void loop(Consumer<byte[], byte[]> c, Producer<byte[], byte[]> p, FeatureBatchCodec codec) {
        try {
            runSteps(c, p, codec);
        } finally {
            open = null; // not committed: aborted by the transaction timeout or the next initTransactions of this id
        }
    }

    private void runSteps(Consumer<byte[], byte[]> c, Producer<byte[], byte[]> p, FeatureBatchCodec codec) {
        while (lifecycle.running()) {
            try {
                step(codec);
            } catch (WakeupException e) {
                if (lifecycle.running()) {
                    throw e;
                }
            } catch (KafkaException e) {
                if (isFatal(e)) {
                    log.error("fatal error, worker {} stops: {}", options.workerId(), e.toString());
                    throw e;
                }
                log.warn("transaction aborted, rewinding to committed offsets: {}", e.toString());
                open = null;
                abort(p, e);
                discardInFlight();
                if (!lifecycle.running()) {
                    break; // closing: the group's next owner starts from the committed offsets anyway
                }
                try {
                    rewind(c);
                } catch (WakeupException closing) {
                    if (lifecycle.running()) {
                        throw closing;
                    }
                    break;
                }
                PollLoopLifecycle.pause(options.retryBackoff());
            }
        }
        commitOnClose(p);
    }

    /**
     * Stopping: the batches already sent are done work, so the open transaction is committed (the consumer is
     * still in its group). If that fails it is aborted; their images are featurized again by the next owner.
     */
    private void commitOnClose(Producer<byte[], byte[]> p) {
        if (open == null) {
            return;
        }
        try {
            commitOpen();
        } catch (KafkaException e) {
            log.warn("committing the open transaction on close failed, aborting it: {}", e.toString());
            open = null;
            if (!isFatal(e)) {
                abort(p, e);
            }
        }
    }

    /** One iteration: finish returned batches, queue the next, pause or resume, poll. */
    private void step(FeatureBatchCodec codec) {
        if (!inFlight.isEmpty() && paused) {
            awaitQuietly(inFlight.peekFirst().output(), POLL); // nothing to fetch meanwhile: wait for the batch, not the poll
        }
        while (!inFlight.isEmpty() && inFlight.peekFirst().output().isDone()) {
            InFlight done = inFlight.pollFirst();
            Output out = outputOf(done);
            submitIfReady(codec); // queued behind the running batch before this one is sent
            send(done, out);
        }
        submitIfReady(codec);
        if (open != null && (inFlight.isEmpty() || commitDue())) {
            commitOpen();
        }
        boolean full = inFlight.size() >= maxInFlight && pending.size() >= options.batchSize();
        if (full) {
            consumer.pause(consumer.assignment()); // also newly assigned partitions
        } else if (paused) {
            resumeAll(consumer);
        }
        paused = full;
        Duration timeout = paused ? Duration.ZERO : !inFlight.isEmpty() ? POLL_IN_FLIGHT : POLL;
        ConsumerRecords<byte[], byte[]> polled = consumer.poll(timeout);
        if (rewindNeeded) {
            // Set by onPartitionsLost inside this poll: what it returned was fetched before the rewind and is read
            // again after it, so none of it may be kept.
            rewindNeeded = false;
            rewind(consumer);
            return;
        }
        for (ConsumerRecord<byte[], byte[]> r : polled) {
            if (pending.isEmpty()) {
                oldestPendingNanos = System.nanoTime();
            }
            pending.add(r);
        }
        submitIfReady(codec);
    }

    /** Hands batches to the inference thread while it has room and {@link #submitOne} has one ready. */
    private void submitIfReady(FeatureBatchCodec codec) {
        while (submitOne(codec)) {
            // the next
        }
    }

    /**
     * Hands the next batch to the inference thread when it has room: a full batch, or (with nothing in flight) one
     * that has waited {@link FeatureWorkerOptions#maxBatchWait()}. A batch queued behind a running one is decoded on
     * the decode thread meanwhile; with nothing running, the inference thread decodes it at once itself.
     */
    private boolean submitOne(FeatureBatchCodec codec) {
        if (inFlight.size() >= maxInFlight || pending.isEmpty() || !lifecycle.running()) {
            return false;
        }
        boolean full = pending.size() >= options.batchSize();
        // a partial batch is not queued behind a running one: it may still fill up while that one runs
        boolean waited = inFlight.isEmpty() && System.nanoTime() - oldestPendingNanos >= options.maxBatchWait().toNanos();
        if (!full && !waited) {
            return false;
        }
        int n = Math.min(options.batchSize(), pending.size());
        List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>(pending.subList(0, n));
        pending.subList(0, n).clear();
        oldestPendingNanos = System.nanoTime();
        // whichever of the decode thread and the inference thread takes the batch's decoding first does it
        AtomicBoolean decodeTaken = new AtomicBoolean();
        // decoded ahead when it queues behind a batch on every lane; any lane's featurizer decodes (no network state)
        Future<BatchFeaturizer.Decoded> decoded = decoding != null && inFlight.size() >= options.lanes()
                ? decoding.submit(() -> decodeTaken.compareAndSet(false, true) ? lanes.get(0).decode(batch) : null) : null;
        AtomicBoolean taken = new AtomicBoolean();
        // a dropped batch's task finds it taken and returns nothing; its output is never read
        inFlight.addLast(new InFlight(batch, decoded, inference.submit(() -> taken.compareAndSet(false, true)
                ? featurize(batch, decoded, decodeTaken, codec) : null), System.nanoTime(), taken));
        return true;
    }

    /** Drops the records not handed to the inference thread. */
    private void clearPending() {
        pending.clear();
    }

    /**
     * On the inference thread: decode (unless the decode thread has begun it), forward pass, encode. Nothing here
     * touches Kafka. A batch the decode thread has not started yet is decoded here rather than waited for: that
     * thread runs below the forward pass's priority, so on a busy machine the forward pass would wait for it to
     * get a core (a priority inversion).
     */
    private Output featurize(List<ConsumerRecord<byte[], byte[]>> batch, Future<BatchFeaturizer.Decoded> decodedAhead,
                             AtomicBoolean decodeTaken, FeatureBatchCodec codec)
            throws InterruptedException, ExecutionException {
        ConsumerRecord<byte[], byte[]> first = batch.get(0);
        MDC.put("batch", first.topic() + "-" + first.partition() + "@" + first.offset() + "+" + batch.size());
        try {
            BatchFeaturizer featurizer = lane.get();
            long t0 = System.nanoTime();
            BatchFeaturizer.Decoded decoded;
            if (decodedAhead == null) {
                decoded = featurizer.decode(batch);
            } else if (decodeTaken.compareAndSet(false, true)) {
                decoded = featurizer.decode(batch);
                decodedHere.incrementAndGet();
            } else {
                decoded = decodedAhead.get();
            }
            long t1 = System.nanoTime();
            BatchFeaturizer.Result result = featurizer.extract(decoded);
            long t2 = System.nanoTime();
            decodeNanos.addAndGet(t1 - t0);
            forwardNanos.addAndGet(t2 - t1);
            List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
            // One Arrow message per cut and task, so a head trainer reads only its own tasks' batches of its base.
            Map<String, Map<String, List<FeatureRow>>> byBaseAndTask = new LinkedHashMap<>();
            for (FeatureRow row : result.rows()) {
                byBaseAndTask.computeIfAbsent(row.baseId(), b -> new LinkedHashMap<>())
                        .computeIfAbsent(row.task(), t -> new ArrayList<>()).add(row);
            }
            for (Map.Entry<String, Map<String, List<FeatureRow>>> b : byBaseAndTask.entrySet()) {
                for (Map.Entry<String, List<FeatureRow>> e : b.getValue().entrySet()) {
                    ProducerRecord<byte[], byte[]> rec = new ProducerRecord<>(options.topics().features(),
                            e.getKey().getBytes(StandardCharsets.UTF_8), codec.encode(e.getValue()));
                    FeatureHeaders.putBaseRef(rec.headers(), refsById.get(b.getKey()));
                    out.add(rec);
                }
            }
            for (BatchFeaturizer.Rejection rej : result.rejections()) {
                out.add(deadLetter(rej));
            }
            encodeNanos.addAndGet(System.nanoTime() - t2);
            return new Output(out, result.images(), result.rejections());
        } finally {
            MDC.remove("batch");
        }
    }

    private static Output outputOf(InFlight f) {
        try {
            return f.output().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FatalWorkerException("interrupted while waiting for the inference thread", e);
        } catch (ExecutionException e) {
            // The featurizer turns per-image failures into dead letters; what escapes is a broken worker.
            throw new FatalWorkerException("featurizing a batch failed: " + e.getCause(), e.getCause());
        }
    }

    /** On the poll thread: sends a finished batch's features and dead letters in the open transaction (begun if none). */
    private void send(InFlight done, Output out) {
        if (open == null) {
            producer.beginTransaction();
            open = new OpenTransaction();
        }
        for (ProducerRecord<byte[], byte[]> rec : out.records()) {
            producer.send(rec);
        }
        nextOffsets(done.batch()).forEach((tp, next) -> open.offsets.merge(tp, next, (a, b) -> a.offset() >= b.offset() ? a : b));
        open.batches.add(new Sent(out, done.startNanos()));
    }

    private boolean commitDue() {
        return System.nanoTime() - open.beganNanos >= options.commitInterval().toNanos();
    }

    /** On the poll thread: the open transaction's input offsets, then commit; counts and logs its batches. */
    private void commitOpen() {
        OpenTransaction t = open;
        long t0 = System.nanoTime();
        producer.sendOffsetsToTransaction(t.offsets, consumer.groupMetadata());
        producer.commitTransaction();
        long took = System.nanoTime() - t0;
        open = null;
        commitNanos.addAndGet(took);
        commits.incrementAndGet();
        longestCommitNanos.accumulateAndGet(took, Math::max);
        for (Sent b : t.batches) {
            Output out = b.output();
            featurized.addAndGet(out.images());
            deadLettered.addAndGet(out.rejections().size());
            batches.incrementAndGet();
            batchListener.committed(out.images(), out.rejections().size(), System.nanoTime() - b.startNanos());
            for (BatchFeaturizer.Rejection rej : out.rejections()) {
                ConsumerRecord<byte[], byte[]> r = rej.record();
                MDC.put("record", r.topic() + "-" + r.partition() + "@" + r.offset());
                MDC.put("image", keyOf(r));
                log.warn("[GRAFT-DLQ] image {} at {}-{}@{} dead-lettered at stage {}: {}", keyOf(r), r.topic(), r.partition(),
                        r.offset(), rej.stage(), rej.error().getMessage());
                MDC.remove("record");
                MDC.remove("image");
            }
        }
    }

    /**
     * Drops the in-flight batches: those not started are dropped ({@link #cancelNotStarted}), the started ones'
     * outputs discarded, and the inference thread is waited for, so it is idle before a rewind or close.
     */
    private void discardInFlight() {
        if (inFlight.isEmpty()) {
            return;
        }
        cancelNotStarted();
        List<InFlight> started = new ArrayList<>(inFlight);
        inFlight.clear(); // running or done: their outputs are dropped
        // the lanes finish what they started (a dropped batch a lane reaches later does nothing)
        long deadline = System.nanoTime() + options.shutdownTimeout().toNanos();
        for (InFlight f : started) {
            awaitQuietly(f.output(), Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        }
    }

    /**
     * Drops the queued batches the inference thread has not started, last first: it takes them in order, so once
     * one is taken (running or done), every one before it is too. Returns their records; the batches left in flight
     * are the started ones. With several lanes two lanes may mark consecutive batches taken in either order; the walk
     * stops at the first taken one from the tail either way, so what it drops is always a tail of the queue and what
     * stays (to be finished and sent) a prefix, as the offsets need.
     */
    private List<ConsumerRecord<byte[], byte[]>> cancelNotStarted() {
        List<ConsumerRecord<byte[], byte[]>> dropped = new ArrayList<>();
        while (!inFlight.isEmpty() && inFlight.peekLast().taken().compareAndSet(false, true)) {
            InFlight queued = inFlight.pollLast();
            if (queued.decoded() != null) {
                queued.decoded().cancel(false);
            }
            dropped.addAll(queued.batch());
        }
        return dropped;
    }

    /**
     * The lowest offset of {@code records} per partition in {@code of}: where to read dropped records again (those
     * of partitions no longer assigned are their new owner's). A partition's records after that offset were
     * dropped too, since batches are cut from the records in poll order.
     */
    static Map<TopicPartition, Long> firstOffsets(List<ConsumerRecord<byte[], byte[]>> records, Set<TopicPartition> of) {
        Map<TopicPartition, Long> first = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            TopicPartition tp = new TopicPartition(r.topic(), r.partition());
            if (of.contains(tp)) {
                first.merge(tp, r.offset(), Math::min);
            }
        }
        return first;
    }

    /** Resumes the paused partitions still assigned (a revoked one is not resumed, it is gone). */
    private static void resumeAll(Consumer<byte[], byte[]> c) {
        Set<TopicPartition> p = new HashSet<>(c.paused());
        p.retainAll(c.assignment());
        c.resume(p);
    }

    private static void awaitQuietly(Future<?> f, Duration d) {
        try {
            f.get(d.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            // seen by outputOf
        }
    }

    private ProducerRecord<byte[], byte[]> deadLetter(BatchFeaturizer.Rejection rej) {
        return DeadLetterHeaders.deadLetter(rej.record(), options.topics().deadLetters(), rej.stage(), rej.error(),
                options.workerId());
    }

    static Map<TopicPartition, OffsetAndMetadata> nextOffsets(List<ConsumerRecord<byte[], byte[]>> batch) {
        return Transactions.nextOffsets(batch);
    }

    private void rewind(Consumer<byte[], byte[]> c) {
        clearPending();
        if (paused) {
            resumeAll(c);
            paused = false;
        }
        Transactions.rewindToCommitted(c);
    }

    /** Fencing, authorization, sequence and version errors, also wrapped ({@link Transactions#isFatal}), and a broken worker. */
    static boolean isFatal(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof FatalWorkerException) {
                return true;
            }
        }
        return Transactions.isFatal(e);
    }

    /** Aborts after a retriable error; if even the abort fails the producer is unusable and the worker stops. */
    private static void abort(Producer<byte[], byte[]> p, KafkaException cause) {
        try {
            p.abortTransaction();
        } catch (IllegalStateException notInTransaction) {
            log.debug("no open transaction to abort");
        } catch (KafkaException e) {
            e.addSuppressed(cause);
            log.error("abort failed, the producer is unusable and the worker stops: {}", e.toString());
            throw new FatalWorkerException("transaction abort failed after " + cause, e);
        }
    }

    /** The worker cannot go on with its producer; a restart (same worker id) recovers through initTransactions. */
    public static final class FatalWorkerException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        FatalWorkerException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static String keyOf(ConsumerRecord<byte[], byte[]> r) {
        return r.key() == null ? "<no key>" : new String(r.key(), StandardCharsets.UTF_8);
    }

    /** Asks the loop to stop without waiting for it ({@link #close()} waits). */
    void requestStop() {
        lifecycle.stop(Duration.ZERO);
    }

    /**
     * Stops the loop; the batches already sent are committed, the one on the inference thread is not (the
     * group's next owner featurizes it).
     */
    @Override
    public void close() {
        if (!lifecycle.stop(options.shutdownTimeout())) {
            log.warn("feature worker {} did not stop within {}", options.workerId(), options.shutdownTimeout());
        }
    }

    /** Runs inside poll() on the poll thread. */
    private final class Rebalance implements ConsumerRebalanceListener {
        /**
         * Pending records of revoked partitions were not committed by us: their new owner processes them. When an
         * in-flight batch holds such records, the revocation waits for the forward passes already started (the
         * running batch, and any finished one), not for the whole queue: the queued batches are cancelled, and the
         * records they and the pending list held of the partitions kept are read again (seek). The started ones
         * are sent and the open transaction holding any revoked partition committed now, before the revocation
         * completes (a failure propagates out of poll() and aborts it as any other).
         */
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            assignment = without(assignment, partitions);
            pending.removeIf(r -> partitions.contains(new TopicPartition(r.topic(), r.partition())));
            if (inFlight.stream().anyMatch(f -> f.holdsAny(partitions))) {
                List<ConsumerRecord<byte[], byte[]>> dropped = cancelNotStarted();
                droppedAtRevocation.addAndGet(dropped.size());
                log.info("finishing {} started batch(es) before {} is revoked; {} queued image(s) dropped, those of "
                        + "partitions kept are read again", inFlight.size(), partitions, dropped.size());
                while (!inFlight.isEmpty()) {
                    InFlight done = inFlight.pollFirst(); // in order: each partition's offsets only move forward
                    send(done, outputOf(done));
                }
                dropped.addAll(pending);
                pending.clear();
                firstOffsets(dropped, assignment).forEach(consumer::seek);
            }
            if (open != null && open.holdsAny(partitions)) {
                commitOpen();
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            log.info("assigned {}", partitions);
            Set<TopicPartition> now = new HashSet<>(assignment);
            now.addAll(partitions);
            assignment = Set.copyOf(now);
        }

        /** The member lost its partitions (no longer in the group): nothing of them can be committed. */
        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            assignment = without(assignment, partitions);
            pending.removeIf(r -> partitions.contains(new TopicPartition(r.topic(), r.partition())));
            boolean inFlightLost = inFlight.stream().anyMatch(f -> f.holdsAny(partitions));
            if (inFlightLost || (open != null && open.holdsAny(partitions))) {
                // The rewind goes back to the committed offsets of every partition still assigned, so nothing
                // uncommitted may survive it: neither the in-flight batch nor the open transaction.
                discardInFlight();
                if (open != null) {
                    OpenTransaction t = open;
                    open = null;
                    log.info("aborting the open transaction ({} batches): {} lost", t.batches.size(), partitions);
                    abort(producer, new KafkaException("partitions lost: " + partitions));
                }
                rewindNeeded = true; // their records of partitions still assigned are read again
            }
        }
    }

    private static Set<TopicPartition> without(Set<TopicPartition> from, Collection<TopicPartition> gone) {
        Set<TopicPartition> now = new HashSet<>(from);
        gone.forEach(now::remove);
        return Set.copyOf(now);
    }
}
