package dev.graft.finetune;

import dev.graft.common.base.BaseArtifact;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.base.BaseResolver;
import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.RetrainRequest;
import dev.graft.common.json.Json;
import dev.graft.common.kafka.Transactions;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.PollLoopLifecycle;
import dev.graft.common.model.ModelRegistry;
import dev.graft.headtrainer.Evaluator;
import dev.graft.headtrainer.TrainedHead;
import dev.graft.headtrainer.TrainingInfo;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes retrain requests (own consumer group, one request at a time) and fine-tunes the task's serving base +
 * head on the task's images, replayed from the images topic and decoded again. In ONE transaction it writes the
 * new base version (artifact chunks, then the {@code base-published} event) and the request's offset
 * ({@code sendOffsetsToTransaction}), so a request yields exactly one base version, or none if the worker dies
 * before the commit (a successor with the same worker id fences it and redoes the request).
 *
 * <p>A request that cannot run (unparseable, unknown task, no serving version, unknown layer, values outside the
 * limits of {@link FineTuneWorkerOptions}, no train images, or a failure inside training) gets a
 * {@code retrain-rejected} event with the reason, committed with its offset; the worker goes on. Kafka errors are
 * tiered as in the feature worker: fencing, authorization, sequence and version errors stop the worker; any other
 * aborts the transaction, rewinds to the committed offset and retries (the trained result is kept, so a retry
 * does not train again).
 */
public final class FineTuneWorker implements Runnable, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FineTuneWorker.class);
    private static final Duration POLL = Duration.ofMillis(200);

    private final FineTuneWorkerOptions options;
    private final Supplier<Consumer<byte[], byte[]>> groupConsumers;
    private final Supplier<Consumer<byte[], byte[]>> plainConsumers;
    private final Supplier<Producer<byte[], byte[]>> producers;
    private final ModelRegistry registry;
    private final BaseResolver resolver;
    private final Clock clock;
    private final PollLoopLifecycle lifecycle = new PollLoopLifecycle();
    private final Map<String, BaseNetworks.Source> sources = new HashMap<>();
    private final AtomicLong published = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private volatile Listener listener = new Listener() { };
    private volatile CommitHook beforeCommit = c -> { };
    /** The last request's computed outcome, kept across a transaction retry. Poll thread only. */
    private Outcome kept;
    /** Whether a transaction is open (a Kafka error while computing, before it opens, has nothing to abort). */
    private boolean inTransaction;

    /** Notified on the worker thread after each commit. */
    public interface Listener {
        default void published(ModelUpdateEvent event, FineTuner.Stats stats) { }

        default void rejected(ModelUpdateEvent event) { }

        default void progress(String task, int epoch, int done, int total, double loss, double imagesPerSecond) { }
    }

    public FineTuneWorker(FineTuneWorkerOptions options, Supplier<Consumer<byte[], byte[]>> groupConsumers,
                          Supplier<Consumer<byte[], byte[]>> plainConsumers,
                          Supplier<Producer<byte[], byte[]>> producers, Clock clock) {
        this.options = options;
        this.groupConsumers = groupConsumers;
        this.plainConsumers = plainConsumers;
        this.producers = producers;
        this.clock = clock;
        this.registry = new ModelRegistry(options.topics(), plainConsumers);
        this.resolver = new BaseResolver(registry, options.basesDir(), options.modelCacheDir());
    }

    /**
     * A worker on a Kafka cluster: one request per poll, and a poll interval long enough for a fine-tune (the
     * group would otherwise evict the worker mid-training and its offset commit would fail).
     */
    public static FineTuneWorker create(FineTuneWorkerOptions options, KafkaSettings kafka) {
        KafkaSettings k = kafka.with("max.poll.records", "1").with("max.poll.interval.ms", String.valueOf(Duration.ofHours(6).toMillis()));
        return new FineTuneWorker(options, () -> k.consumer(options.groupId()), () -> kafka.consumer(null),
                () -> kafka.transactionalProducer(options.transactionalId()), Clock.systemUTC());
    }

    public void onEvents(Listener l) {
        this.listener = l;
    }

    /** Test hook: runs on the worker thread inside the publishing transaction, after all sends, before the commit. */
    public interface CommitHook {
        void beforeCommit(Consumer<byte[], byte[]> requestConsumer);
    }

    public void beforeCommit(CommitHook hook) {
        this.beforeCommit = hook;
    }

    public long publishedCount() {
        return published.get();
    }

    public long rejectedCount() {
        return rejected.get();
    }

    @Override
    public void run() {
        lifecycle.started();
        try (Consumer<byte[], byte[]> c = groupConsumers.get(); Producer<byte[], byte[]> p = producers.get()) {
            lifecycle.owns(c);
            c.subscribe(List.of(options.topics().retrainRequests()));
            log.info("fine-tune worker {} consuming {} (group {})", options.workerId(),
                    options.topics().retrainRequests(), options.groupId());
            while (lifecycle.running()) {
                try {
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(POLL)) {
                        handle(c, p, r);
                    }
                } catch (WakeupException e) {
                    if (lifecycle.running()) throw e;
                } catch (KafkaException e) {
                    if (Transactions.isFatal(e)) {
                        log.error("fatal error, fine-tune worker {} stops: {}", options.workerId(), e.toString());
                        throw e;
                    }
                    log.warn("transaction aborted, rewinding to the committed offset: {}", e.toString());
                    if (inTransaction) {
                        Transactions.abort(p, e);
                        inTransaction = false;
                    }
                    if (!lifecycle.running()) break;
                    try {
                        Transactions.rewindToCommitted(c);
                    } catch (WakeupException closing) {
                        if (lifecycle.running()) throw closing;
                        break;
                    }
                    PollLoopLifecycle.pause(options.retryBackoff());
                }
            }
        } finally {
            lifecycle.finished();
        }
    }

    private void handle(Consumer<byte[], byte[]> c, Producer<byte[], byte[]> p, ConsumerRecord<byte[], byte[]> r) {
        Outcome out = kept != null && kept.matches(r) ? kept : compute(r);
        kept = out;
        ModelUpdateEvent event;
        p.beginTransaction();
        inTransaction = true;
        if (out.rejection != null) {
            event = out.rejection;
            p.send(new ProducerRecord<>(options.topics().modelUpdates(), event.task().getBytes(StandardCharsets.UTF_8),
                    Json.toBytes(event)));
        } else {
            event = publishBase(p, out);
        }
        p.sendOffsetsToTransaction(Map.of(new TopicPartition(r.topic(), r.partition()),
                new OffsetAndMetadata(r.offset() + 1)), c.groupMetadata());
        beforeCommit.beforeCommit(c);
        p.commitTransaction();
        inTransaction = false;
        kept = null;
        if (out.rejection != null) {
            rejected.incrementAndGet();
            log.warn("retrain request {} of task {} rejected: {}", requestId(event), event.task(), event.reason());
            listener.rejected(event);
        } else {
            published.incrementAndGet();
            log.info("base version {} of {} published: {} (validation accuracy {} -> {})", event.version(), event.task(),
                    event.base().id(), out.accuracyBefore, event.metrics().validationAccuracy());
            listener.published(event, out.stats);
        }
    }

    private static Object requestId(ModelUpdateEvent e) {
        return e.lineage() == null ? null : e.lineage().hyperParameters().get("requestId");
    }

    /** Writes the base artifact and event with the next base version number, inside the open transaction. */
    private ModelUpdateEvent publishBase(Producer<byte[], byte[]> p, Outcome out) {
        String task = out.request.task();
        int version = registry.latestBase(task).map(ModelUpdateEvent::version).orElse(0) + 1;
        FineTuneGraph g = out.graph;
        BaseArtifact a = BaseArtifact.of(task, version, g.base(), g.cut(), g.inputSize(), g.preprocessing(),
                g.freezePoint().firstTrainable(), new byte[0]);
        TrainedHead head = g.head(a.ref().id(), new TrainingInfo(out.stats.trainCount(), out.stats.epochLoss().size(),
                Math.round(out.stats.seconds() * 1000), true, g.startHead().labelCount(), out.stats.lastLoss()));
        a = a.withHead(head.toBytes());
        RetrainRequest q = out.request;
        Map<String, Object> hp = new LinkedHashMap<>();
        hp.put("requestId", q.requestId());
        hp.put("unfreezeFrom", q.unfreezeFrom());
        hp.put("freezePoint", g.freezePoint().firstTrainable());
        hp.put("epochs", q.epochs());
        hp.put("learningRate", q.learningRate());
        hp.put("batchSize", q.batchSize());
        hp.put("augmentation", q.augmentation() == null ? "" : q.augmentation());
        hp.put("reason", q.reason());
        hp.put("parentBaseId", out.parentBase.id());
        hp.put("trainImagesPerSecond", out.stats.imagesPerSecond());
        hp.put("parentValidationAccuracy", out.accuracyBefore);
        ModelUpdateEvent draft = new ModelUpdateEvent(ModelUpdateEvent.BASE_PUBLISHED, task, version, clock.instant(),
                a.ref(), head.labels(), out.validation.toMetrics(out.stats.trainCount()),
                new ModelUpdateEvent.Lineage(null, hp, "fine-tuned from " + g.freezePoint().firstTrainable() + " + "
                        + head.config().architecture(), out.servingVersion), null);
        return registry.publish(p, draft, a.toBytes(), BaseArtifact.FORMAT);
    }

    /** Everything but the publishing: a trained result or a rejection. Kafka errors propagate (retriable). */
    private Outcome compute(ConsumerRecord<byte[], byte[]> r) {
        String keyTask = r.key() == null ? "" : new String(r.key(), StandardCharsets.UTF_8);
        RetrainRequest q;
        try {
            q = Json.fromBytes(r.value(), RetrainRequest.class);
        } catch (RuntimeException e) {
            return Outcome.rejected(r, null, reject(keyTask, null, "unreadable retrain request: " + e.getMessage()));
        }
        try {
            return fineTune(r, q);
        } catch (Rejected e) {
            return Outcome.rejected(r, q, reject(q.task(), q.requestId(), e.getMessage()));
        } catch (KafkaException e) {
            throw e;
        } catch (RuntimeException e) {
            log.error("fine-tune of request {} failed", q.requestId(), e);
            return Outcome.rejected(r, q, reject(q.task(), q.requestId(), "fine-tune failed: " + e));
        }
    }

    private ModelUpdateEvent reject(String task, String requestId, String reason) {
        return ModelUpdateEvent.retrainRejected(task == null || task.isBlank() ? "unknown" : task, requestId, reason,
                clock.instant());
    }

    private Outcome fineTune(ConsumerRecord<byte[], byte[]> r, RetrainRequest q) {
        validate(q);
        Augmentation aug;
        try {
            aug = Augmentation.parse(q.augmentation());
        } catch (IllegalArgumentException e) {
            throw new Rejected(e.getMessage());
        }
        ModelRegistry.TaskState state = registry.state(q.task());
        if (state.versions().isEmpty()) {
            throw new Rejected("unknown task '" + q.task() + "': it has no versions on the model registry");
        }
        ModelUpdateEvent serving = state.resolve(ModelUpdateEvent.SERVING)
                .orElseThrow(() -> new Rejected("task '" + q.task() + "' has no serving version to fine-tune"));
        BaseRef base = serving.base();
        TrainedHead head = TrainedHead.fromBytes(registry.fetch(serving.artifact()));
        BaseNetworks.Source src = sources.computeIfAbsent(base.spec(), resolver::loadSource);
        FineTuneGraph g;
        try {
            g = FineTuneGraph.build(src, base.cut(), base.inputSize(), q.unfreezeFrom(), head, q.learningRate(),
                    options.seed());
        } catch (IllegalArgumentException e) {
            throw new Rejected(e.getMessage());
        }
        ImageReplay.Splits data;
        try (Consumer<byte[], byte[]> c = plainConsumers.get()) {
            data = ImageReplay.read(c, options.topics().images(), q.task(), head.labels());
        }
        if (data.train().size() == 0) {
            throw new Rejected("task '" + q.task() + "' has no labelled train images on " + options.topics().images());
        }
        log.info("fine-tuning {} (serving v{}, base {}) from {} on {} train / {} validation images ({} skipped), "
                        + "{} epochs, lr {}, batch {}, augmentation '{}'", q.task(), serving.version(), base.id(),
                g.freezePoint().firstTrainable(), data.train().size(), data.validation().size(), data.skipped(),
                q.epochs(), q.learningRate(), q.batchSize(), aug);
        Listener l = listener;
        FineTuner.Stats stats = FineTuner.train(g, data.train(),
                new FineTuner.Settings(q.epochs(), q.batchSize(), aug, options.seed()),
                (epoch, done, total, loss, ips) -> l.progress(q.task(), epoch, done, total, loss, ips));
        Evaluator.Result val = FineTuner.evaluate(g, data.validation(), q.batchSize());
        double before = serving.metrics() == null ? Double.NaN : serving.metrics().validationAccuracy();
        return new Outcome(r.topic(), r.partition(), r.offset(), q, null, g, stats, val, base, serving.version(), before);
    }

    private void validate(RetrainRequest q) {
        if (q.task() == null || q.task().isBlank()) throw new Rejected("the request names no task");
        if (q.requestId() == null || q.requestId().isBlank()) throw new Rejected("the request has no requestId");
        if (q.epochs() < 1 || q.epochs() > options.maxEpochs()) {
            throw new Rejected("epochs must be in 1.." + options.maxEpochs() + ", got " + q.epochs());
        }
        if (!(q.learningRate() > 0) || q.learningRate() > options.maxLearningRate()) {
            throw new Rejected("learning rate must be in (0, " + options.maxLearningRate() + "], got " + q.learningRate());
        }
        if (q.batchSize() < 1 || q.batchSize() > options.maxBatchSize()) {
            throw new Rejected("batch size must be in 1.." + options.maxBatchSize() + ", got " + q.batchSize());
        }
    }

    private static final class Rejected extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Rejected(String message) {
            super(message);
        }
    }

    private record Outcome(String topic, int partition, long offset, RetrainRequest request,
                           ModelUpdateEvent rejection, FineTuneGraph graph, FineTuner.Stats stats,
                           Evaluator.Result validation, BaseRef parentBase, Integer servingVersion,
                           double accuracyBefore) {
        static Outcome rejected(ConsumerRecord<byte[], byte[]> r, RetrainRequest q, ModelUpdateEvent e) {
            return new Outcome(r.topic(), r.partition(), r.offset(), q, e, null, null, null, null, null, Double.NaN);
        }

        boolean matches(ConsumerRecord<byte[], byte[]> r) {
            return topic.equals(r.topic()) && partition == r.partition() && offset == r.offset();
        }
    }

    /** Stops the loop; a request in training is not committed and is redone by the group's next owner. */
    @Override
    public void close() {
        if (!lifecycle.stop(options.shutdownTimeout())) {
            log.warn("fine-tune worker {} did not stop within {}", options.workerId(), options.shutdownTimeout());
        }
    }
}
