package dev.graft.headtrainer.predict;

import dev.graft.common.contract.DeadLetterHeaders;
import dev.graft.common.contract.FeatureBatchCodec;
import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.Prediction;
import dev.graft.common.json.Json;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.PollLoopLifecycle;
import dev.graft.common.kafka.Transactions;
import dev.graft.common.model.ModelRegistry;
import dev.graft.common.serving.HeadArtifact;
import dev.graft.common.serving.ServingClient;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * {@code graft predict-worker}: consumes the features topic ({@code read_committed}, its own consumer group)
 * and, with the task's {@code serving} version (followed through {@link ServingClient}, hot-swapped on
 * promote and rollback), writes a {@link Prediction} per unlabelled row of the task (every row with
 * {@code allRows}) to the predictions topic. Each poll's predictions, dead letters and input offsets are one
 * Kafka transaction, so every row is predicted exactly once in the read_committed view.
 *
 * <p>Only rows computed by the serving version's base are predicted; rows of other bases are skipped and
 * counted ({@link #otherBaseSkipped()}). Nothing is consumed until a serving version is loaded. A feature
 * record that cannot be decoded or predicted goes to the dead-letter topic (stage {@value #STAGE}).
 * Errors are tiered as in the feature worker: fatal ones stop the worker, others abort and rewind.
 */
public final class PredictWorker implements Runnable, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PredictWorker.class);
    private static final Duration POLL = Duration.ofMillis(200);
    /** {@code graft.dlq.stage} of a feature record the predict worker rejected. */
    public static final String STAGE = "predict";

    private final PredictWorkerOptions options;
    private final KafkaSettings kafka;
    private final Clock clock;
    private final Predictor predictor;
    private final PollLoopLifecycle lifecycle = new PollLoopLifecycle();
    private final AtomicLong predicted = new AtomicLong();
    private final AtomicLong labelledSkipped = new AtomicLong();
    private final AtomicLong otherBaseSkipped = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private volatile ServingClient<HeadArtifact> client;

    public PredictWorker(PredictWorkerOptions options, KafkaSettings kafka, Clock clock) {
        this.options = options;
        this.kafka = kafka;
        this.clock = clock;
        this.predictor = new Predictor(options.task(), options.allRows());
    }

    /** Predictions committed. */
    public long predictedCount() {
        return predicted.get();
    }

    /** Labelled rows of the task left out (without {@code --all}). */
    public long labelledSkipped() {
        return labelledSkipped.get();
    }

    /** Rows of the task computed by another base than the serving version's. */
    public long otherBaseSkipped() {
        return otherBaseSkipped.get();
    }

    public long deadLetterCount() {
        return deadLettered.get();
    }

    /** The version predicting now, if one is loaded. */
    public OptionalInt servingVersion() {
        ServingClient<HeadArtifact> c = client;
        return c == null ? OptionalInt.empty()
                : c.current().map(v -> OptionalInt.of(v.version())).orElse(OptionalInt.empty());
    }

    @Override
    public void run() {
        lifecycle.started();
        MDC.put("worker", "predict/" + options.task() + "/" + options.workerId());
        ModelRegistry registry = new ModelRegistry(options.topics(), () -> kafka.consumer(null));
        try (ServingClient<HeadArtifact> serving = ServingClient.heads(registry, options.task(), ServingClient.Target.serving());
             FeatureBatchCodec codec = new FeatureBatchCodec();
             Consumer<byte[], byte[]> c = kafka.consumer(options.groupId());
             Producer<byte[], byte[]> p = kafka.transactionalProducer(options.transactionalId())) {
            client = serving;
            lifecycle.owns(c);
            log.info("predict worker {} waiting for a serving version of {}", options.workerId(), options.task());
            while (lifecycle.running() && !serving.awaitReady(Duration.ofMillis(500))) {
                // nothing is consumed before a version can predict
            }
            if (!lifecycle.running()) {
                return;
            }
            c.subscribe(List.of(options.topics().features()));
            log.info("predict worker {} consuming {} (group {}) with {} v{}", options.workerId(),
                    options.topics().features(), options.groupId(), options.task(), servingVersion().orElse(-1));
            while (lifecycle.running()) {
                try {
                    pollOnce(c, p, codec, serving);
                } catch (WakeupException e) {
                    if (lifecycle.running()) {
                        throw e;
                    }
                } catch (KafkaException e) {
                    if (Transactions.isFatal(e)) {
                        log.error("fatal error, predict worker {} stops: {}", options.workerId(), e.toString());
                        throw e;
                    }
                    log.warn("transaction aborted, rewinding to committed offsets: {}", e.toString());
                    Transactions.abort(p, e);
                    if (!lifecycle.running()) {
                        break;
                    }
                    try {
                        Transactions.rewindToCommitted(c);
                    } catch (WakeupException closing) {
                        if (lifecycle.running()) {
                            throw closing;
                        }
                        break;
                    }
                    PollLoopLifecycle.pause(options.retryBackoff());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            client = null;
            lifecycle.finished();
            MDC.remove("worker");
        }
    }

    private void pollOnce(Consumer<byte[], byte[]> c, Producer<byte[], byte[]> p, FeatureBatchCodec codec,
                          ServingClient<HeadArtifact> serving) {
        ConsumerRecords<byte[], byte[]> records = c.poll(POLL);
        if (records.isEmpty()) {
            return;
        }
        List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        List<ConsumerRecord<byte[], byte[]>> rejected = new ArrayList<>();
        List<Exception> reasons = new ArrayList<>();
        int n = 0;
        int labelled = 0;
        int otherBase = 0;
        for (ConsumerRecord<byte[], byte[]> r : records) {
            all.add(r);
            Predictor.Result result;
            try {
                List<FeatureRow> rows = codec.decode(r.value());
                result = serving.call((version, head) -> predictor.predict(rows, version, head, clock.instant()));
            } catch (IllegalArgumentException | IllegalStateException e) {
                rejected.add(r);
                reasons.add(e);
                out.add(DeadLetterHeaders.deadLetter(r, options.topics().deadLetters(), STAGE, e, options.workerId()));
                continue;
            }
            for (Prediction pr : result.predictions()) {
                out.add(new ProducerRecord<>(options.topics().predictions(), pr.imageId().getBytes(StandardCharsets.UTF_8),
                        Json.toBytes(pr)));
            }
            n += result.predictions().size();
            labelled += result.labelledSkipped();
            otherBase += result.otherBaseSkipped();
        }
        p.beginTransaction();
        for (ProducerRecord<byte[], byte[]> rec : out) {
            p.send(rec);
        }
        p.sendOffsetsToTransaction(Transactions.nextOffsets(all), c.groupMetadata());
        p.commitTransaction();
        predicted.addAndGet(n);
        labelledSkipped.addAndGet(labelled);
        otherBaseSkipped.addAndGet(otherBase);
        deadLettered.addAndGet(rejected.size());
        if (otherBase > 0) {
            log.info("skipped {} rows of {} computed by another base than serving v{}'s", otherBase, options.task(),
                    servingVersion().orElse(-1));
        }
        for (int i = 0; i < rejected.size(); i++) {
            ConsumerRecord<byte[], byte[]> r = rejected.get(i);
            log.warn("[GRAFT-DLQ] feature batch at {}-{}@{} dead-lettered at stage {}: {}", r.topic(), r.partition(),
                    r.offset(), STAGE, reasons.get(i).getMessage());
        }
    }

    /** Stops the loop; predictions of the open poll are not committed and are made again by the group's next owner. */
    @Override
    public void close() {
        if (!lifecycle.stop(options.shutdownTimeout())) {
            log.warn("predict worker {} did not stop within {}", options.workerId(), options.shutdownTimeout());
        }
    }

}
