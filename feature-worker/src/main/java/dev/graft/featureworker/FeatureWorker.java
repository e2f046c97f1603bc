package dev.graft.featureworker;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.contract.DeadLetterHeaders;
import dev.graft.common.contract.FeatureBatchCodec;
import dev.graft.common.contract.FeatureHeaders;
import dev.graft.common.contract.FeatureRow;
import dev.graft.common.image.ImageDecoder;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.PollLoopLifecycle;
import dev.graft.common.kafka.Transactions;
import dev.graft.featureworker.internal.BatchFeaturizer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
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
 * write the Arrow feature batch, the dead letters of rejected images and the input offsets
 * ({@code sendOffsetsToTransaction} with the group metadata). Downstream readers use
 * {@code read_committed}, so every image's vector appears exactly once or not at all.
 *
 * <p>One thread owns the consumer and producer ({@link #run()}); {@link #close()} may be called from any
 * thread and stops the loop through {@code wakeup()}. Errors are tiered: fencing, authorization, sequence
 * and version errors (also when the producer wraps them) are fatal, as is a failing abort: the worker stops
 * and {@link #run()} throws; any other Kafka error aborts the transaction, rewinds to the committed offsets
 * and retries; a bad image is dead-lettered.
 */
public final class FeatureWorker implements Runnable, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FeatureWorker.class);
    private static final Duration POLL = Duration.ofMillis(100);

    private final FeatureWorkerOptions options;
    private final Supplier<Consumer<byte[], byte[]>> consumerFactory;
    private final Supplier<Producer<byte[], byte[]>> producerFactory;
    private final BatchFeaturizer featurizer;

    private final PollLoopLifecycle lifecycle = new PollLoopLifecycle();
    private final AtomicLong featurized = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();

    /** Records consumed but not yet committed, in arrival order. Owned by the poll thread. */
    private final List<ConsumerRecord<byte[], byte[]>> pending = new ArrayList<>();
    private long oldestPendingNanos;

    public FeatureWorker(FeatureWorkerOptions options, Supplier<Consumer<byte[], byte[]>> consumerFactory,
                         Supplier<Producer<byte[], byte[]>> producerFactory, BatchFeaturizer featurizer) {
        this.options = options;
        this.consumerFactory = consumerFactory;
        this.producerFactory = producerFactory;
        this.featurizer = featurizer;
    }

    /** A worker on a Kafka cluster: group consumer polling at most one batch, transactional producer. */
    public static FeatureWorker create(FeatureWorkerOptions options, KafkaSettings kafka, BaseNetwork base) {
        KafkaSettings k = kafka.with("max.poll.records", String.valueOf(options.batchSize()));
        return new FeatureWorker(options, () -> k.consumer(options.groupId()),
                () -> k.transactionalProducer(options.transactionalId()),
                new BatchFeaturizer(base, new ImageDecoder()));
    }

    public long featurizedCount() {
        return featurized.get();
    }

    public long deadLetterCount() {
        return deadLettered.get();
    }

    public long batchCount() {
        return batches.get();
    }

    /** Called on the worker thread after each committed batch (metrics hook). */
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
        try (FeatureBatchCodec codec = new FeatureBatchCodec();
             Consumer<byte[], byte[]> c = consumerFactory.get();
             Producer<byte[], byte[]> p = producerFactory.get()) {
            lifecycle.owns(c);
            // the producer factory returns a producer after initTransactions(), which fenced any predecessor
            c.subscribe(List.of(options.topics().images()), new DropRevoked());
            log.info("feature worker {} consuming {} (group {})", options.workerId(), options.topics().images(), options.groupId());
            while (lifecycle.running()) {
                try {
                    pollOnce(c, p, codec);
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
                    abort(p, e);
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
            pending.clear(); // not committed: the group's next owner featurizes them
        } finally {
            lifecycle.finished();
            MDC.remove("worker");
        }
    }

    private void pollOnce(Consumer<byte[], byte[]> c, Producer<byte[], byte[]> p, FeatureBatchCodec codec) {
        int room = options.batchSize() - pending.size();
        for (ConsumerRecord<byte[], byte[]> r : c.poll(POLL)) {
            if (pending.isEmpty()) {
                oldestPendingNanos = System.nanoTime();
            }
            pending.add(r);
        }
        // max.poll.records = batch size keeps 'pending' bounded; a poll can still overshoot 'room' once.
        boolean full = pending.size() >= options.batchSize() || room <= 0;
        boolean waited = !pending.isEmpty()
                && System.nanoTime() - oldestPendingNanos >= options.maxBatchWait().toNanos();
        if (full || waited) {
            while (!pending.isEmpty() && lifecycle.running()) {
                int n = Math.min(options.batchSize(), pending.size());
                List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>(pending.subList(0, n));
                processInTransaction(c, p, codec, batch);
                pending.subList(0, n).clear();
                if (pending.size() < options.batchSize()) {
                    break;
                }
            }
            oldestPendingNanos = System.nanoTime();
        }
    }

    private void processInTransaction(Consumer<byte[], byte[]> c, Producer<byte[], byte[]> p, FeatureBatchCodec codec,
                                      List<ConsumerRecord<byte[], byte[]>> batch) {
        long t0 = System.nanoTime();
        MDC.put("batch", batch.get(0).topic() + "-" + batch.get(0).partition() + "@" + batch.get(0).offset() + "+" + batch.size());
        BatchFeaturizer.Result result = featurizer.featurize(batch);
        // Everything that can fail without Kafka (encoding) happens before the transaction opens.
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        // One Arrow message per task, so a head trainer reads only its own tasks' batches.
        Map<String, List<FeatureRow>> byTask = new LinkedHashMap<>();
        for (FeatureRow row : result.rows()) {
            byTask.computeIfAbsent(row.task(), t -> new ArrayList<>()).add(row);
        }
        for (Map.Entry<String, List<FeatureRow>> e : byTask.entrySet()) {
            ProducerRecord<byte[], byte[]> rec = new ProducerRecord<>(options.topics().features(),
                    e.getKey().getBytes(StandardCharsets.UTF_8), codec.encode(e.getValue()));
            FeatureHeaders.putBaseRef(rec.headers(), featurizer.baseRef());
            out.add(rec);
        }
        for (BatchFeaturizer.Rejection rej : result.rejections()) {
            out.add(deadLetter(rej));
        }
        p.beginTransaction();
        for (ProducerRecord<byte[], byte[]> rec : out) {
            p.send(rec);
        }
        p.sendOffsetsToTransaction(nextOffsets(batch), c.groupMetadata());
        p.commitTransaction();
        featurized.addAndGet(result.rows().size());
        deadLettered.addAndGet(result.rejections().size());
        batches.incrementAndGet();
        batchListener.committed(result.rows().size(), result.rejections().size(), System.nanoTime() - t0);
        for (BatchFeaturizer.Rejection rej : result.rejections()) {
            ConsumerRecord<byte[], byte[]> r = rej.record();
            MDC.put("record", r.topic() + "-" + r.partition() + "@" + r.offset());
            MDC.put("image", keyOf(r));
            log.warn("[GRAFT-DLQ] image {} at {}-{}@{} dead-lettered at stage {}: {}", keyOf(r), r.topic(), r.partition(),
                    r.offset(), rej.stage(), rej.error().getMessage());
            MDC.remove("record");
            MDC.remove("image");
        }
        MDC.remove("batch"); // left set on failure, for the abort's log line
    }

    private ProducerRecord<byte[], byte[]> deadLetter(BatchFeaturizer.Rejection rej) {
        return DeadLetterHeaders.deadLetter(rej.record(), options.topics().deadLetters(), rej.stage(), rej.error(),
                options.workerId());
    }

    static Map<TopicPartition, OffsetAndMetadata> nextOffsets(List<ConsumerRecord<byte[], byte[]>> batch) {
        return Transactions.nextOffsets(batch);
    }

    private void rewind(Consumer<byte[], byte[]> c) {
        pending.clear();
        Transactions.rewindToCommitted(c);
    }

    /** Fencing, authorization, sequence and version errors, also wrapped: {@link Transactions#isFatal}. */
    static boolean isFatal(Throwable e) {
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

    /** Stops the loop; the open batch is not committed and will be featurized by the group's next owner. */
    @Override
    public void close() {
        if (!lifecycle.stop(options.shutdownTimeout())) {
            log.warn("feature worker {} did not stop within {}", options.workerId(), options.shutdownTimeout());
        }
    }

    /** Records of revoked partitions were not committed by us; their new owner processes them. */
    private final class DropRevoked implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            pending.removeIf(r -> partitions.contains(new TopicPartition(r.topic(), r.partition())));
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            log.info("assigned {}", partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            onPartitionsRevoked(partitions);
        }
    }
}
