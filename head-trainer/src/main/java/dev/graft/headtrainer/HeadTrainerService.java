package dev.graft.headtrainer;

import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.FeatureBatchCodec;
import dev.graft.common.contract.FeatureHeaders;
import dev.graft.common.contract.Split;
import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.PollLoopLifecycle;
import dev.graft.common.model.ModelRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The head trainer of one task: reads the features topic from the beginning (the feature cache is
 * rebuilt from Kafka on every start), keeps the task's vectors in a {@link VectorStore}, trains a head
 * when the {@link TrainingPolicy} says so, evaluates it on the validation split and publishes the
 * version (artifact + event) in one transaction.
 *
 * <p>Restart safety: version numbers continue after the task's latest published version, and the
 * vectors that version was trained on (its lineage offsets) do not count as new, so a restart does
 * not publish a duplicate version of the same data.
 */
public final class HeadTrainerService implements Runnable, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HeadTrainerService.class);
    private static final Duration POLL = Duration.ofMillis(200);

    private final HeadTrainerOptions options;
    private final KafkaSettings kafka;
    private final Clock clock;
    private final HeadTrainer trainer = new HeadTrainer();
    private final List<java.util.function.Consumer<ModelUpdateEvent>> listeners = new CopyOnWriteArrayList<>();
    private final PollLoopLifecycle lifecycle = new PollLoopLifecycle();
    private volatile VectorStore store;
    /** Test hook: runs inside the open transaction, after the artifact and event are sent, before the commit. */
    private volatile java.util.function.IntConsumer beforeCommit = v -> { };
    /** The base the task trains on (from the latest version, or the first feature batch's header). */
    private BaseRef baseRef;

    public HeadTrainerService(HeadTrainerOptions options, KafkaSettings kafka, Clock clock) {
        this.options = options;
        this.kafka = kafka;
        this.clock = clock;
    }

    /** Called on the trainer thread after each version is committed. */
    public void onPublished(java.util.function.Consumer<ModelUpdateEvent> listener) {
        listeners.add(listener);
    }

    /** How long the latest training and publishing took; read it from an {@link #onPublished} listener (metrics hook). */
    public Duration lastTrainingTime() {
        return lastTrainingTime;
    }

    private volatile Duration lastTrainingTime = Duration.ZERO;

    /** Test hook (simulates a crash or a stall inside a version's transaction). */
    void beforeCommit(java.util.function.IntConsumer hook) {
        this.beforeCommit = hook;
    }

    /** Vectors held for the task (null until the first one arrives). */
    public VectorStore store() {
        return store;
    }

    @Override
    public void run() {
        lifecycle.started();
        MDC.put("worker", "head-trainer/" + options.task() + " ");
        ModelRegistry registry = new ModelRegistry(options.topics(), () -> kafka.consumer(null));
        try (FeatureBatchCodec codec = new FeatureBatchCodec();
             Consumer<byte[], byte[]> c = kafka.consumer(null);
             Producer<byte[], byte[]> p = kafka.transactionalProducer(options.transactionalId())) {
            lifecycle.owns(c);
            // transactionalProducer() has called initTransactions(): a previous trainer of this task is fenced.
            Optional<ModelUpdateEvent> latest = registry.latest(options.task());
            int nextVersion = latest.map(e -> e.version() + 1).orElse(1);
            Optional<TrainedHead> parent = latest.map(e -> TrainedHead.fromBytes(registry.fetch(e.artifact())));
            String baseId = options.baseId() != null ? options.baseId() : latest.map(e -> e.base().id()).orElse(null);
            Map<Integer, Long> trainedUpTo = latest.map(e -> e.lineage().featureOffsets()).orElse(Map.of());
            latest.ifPresent(e -> log.info("resuming task {} after version {} (base {})", options.task(), e.version(), e.base().id()));

            List<TopicPartition> parts = c.partitionsFor(options.topics().features(), Duration.ofSeconds(30)).stream()
                    .map(pi -> new TopicPartition(pi.topic(), pi.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            TrainingPolicy policy = new TrainingPolicy(options.policy(), clock);
            boolean caughtUp = trainedUpTo.isEmpty();
            baseRef = latest.map(ModelUpdateEvent::base).orElse(null);
            // train vectors from records below the latest version's lineage offsets: already trained on
            long alreadyTrained = 0;

            while (lifecycle.running()) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(POLL)) {
                    long before = store == null ? 0 : store.trainChanges();
                    baseId = accept(codec, r, baseId);
                    Long boundary = trainedUpTo.get(r.partition());
                    if (!caughtUp && boundary != null && r.offset() < boundary && store != null) {
                        alreadyTrained += store.trainChanges() - before;
                    }
                }
                if (!caughtUp && positionsReached(c, trainedUpTo)) {
                    caughtUp = true;
                    // only what the latest version saw counts as trained; records read past its
                    // lineage offsets in the same polls are new (e.g. data that arrived while the
                    // previous trainer was down or before it could train)
                    policy.trained(alreadyTrained);
                    log.info("caught up with version {}: {} train vectors already trained on, {} new",
                            nextVersion - 1, alreadyTrained, store == null ? 0 : store.trainChanges() - alreadyTrained);
                }
                if (!caughtUp || store == null) {
                    continue;
                }
                TrainingPolicy.Decision d = policy.check(store.trainChanges(), store.labels().size(), store.size(Split.TRAIN));
                if (!d.train()) {
                    continue;
                }
                long seen = store.trainChanges();
                log.info("training task {} version {}: {}", options.task(), nextVersion, d.reason());
                try {
                    long t0 = System.nanoTime();
                    TrainedHead[] head = new TrainedHead[1];
                    ModelUpdateEvent published = trainAndPublish(p, registry, nextVersion, parent, baseRef, positions(c), head);
                    lastTrainingTime = Duration.ofNanos(System.nanoTime() - t0);
                    // the head just committed is the next warm start (no round trip through Kafka: right after
                    // a commit the read_committed end offset may not have moved past the artifact yet)
                    parent = Optional.of(head[0]);
                    nextVersion++;
                    policy.trained(seen);
                    for (var l : listeners) {
                        l.accept(published);
                    }
                } catch (ProducerFencedException | AuthorizationException fatal) {
                    throw fatal;
                } catch (KafkaException e) {
                    log.warn("publishing version {} of {} failed, will retry: {}", nextVersion, options.task(), e.toString());
                    try {
                        p.abortTransaction();
                    } catch (KafkaException | IllegalStateException abortFailure) {
                        log.warn("abort failed: {}", abortFailure.toString());
                    }
                    PollLoopLifecycle.pause(options.retryBackoff());
                }
            }
        } catch (WakeupException e) {
            if (lifecycle.running()) {
                throw e;
            }
        } finally {
            lifecycle.finished();
            MDC.remove("worker");
        }
    }

    private String accept(FeatureBatchCodec codec, ConsumerRecord<byte[], byte[]> r, String baseId) {
        List<FeatureRow> rows;
        try {
            rows = codec.decode(r.value());
            FeatureHeaders.baseRef(r.headers()); // validates the header early
        } catch (RuntimeException e) {
            log.warn("skipping unreadable feature batch at {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.getMessage());
            return baseId;
        }
        for (FeatureRow row : rows) {
            if (!options.task().equals(row.task()) || row.label() == null) {
                continue;
            }
            if (baseId == null) {
                baseId = row.baseId();
                log.info("task {} trains on base {}", options.task(), baseId);
            }
            if (!baseId.equals(row.baseId())) {
                continue;
            }
            if (baseRef == null || !baseRef.id().equals(baseId)) {
                Optional<BaseRef> declared = FeatureHeaders.baseRef(r.headers()).filter(b -> b.id().equals(row.baseId()));
                if (declared.isEmpty()) {
                    log.warn("skipping feature batch at {}-{}@{}: no {} header for base {}", r.topic(), r.partition(),
                            r.offset(), FeatureHeaders.BASE_REF, row.baseId());
                    return baseId;
                }
                baseRef = declared.get();
            }
            if (store == null) {
                store = new VectorStore(options.task(), baseId, row.vector().length);
            }
            store.add(row);
        }
        return baseId;
    }

    private ModelUpdateEvent trainAndPublish(Producer<byte[], byte[]> p, ModelRegistry registry, int version,
                                             Optional<TrainedHead> parent, BaseRef base,
                                             Map<Integer, Long> offsets, TrainedHead[] trained) {
        TrainedHead head = trainer.train(options.head(), store, parent);
        trained[0] = head;
        VectorStore.SplitData validation = store.validation();
        ModelUpdateEvent.Metrics metrics = Evaluator.evaluate(head, validation).toMetrics(store.size(Split.TRAIN));
        Map<String, Object> hyper = new HashMap<>(options.head().toMap());
        ModelUpdateEvent draft = new ModelUpdateEvent(ModelUpdateEvent.VERSION_PUBLISHED, options.task(), version,
                clock.instant(), base, head.labels(), metrics,
                new ModelUpdateEvent.Lineage(offsets, hyper, options.head().architecture(),
                        parent.isPresent() ? version - 1 : null),
                null);
        byte[] artifact = head.toBytes();
        // serving as of now (a manual promote or rollback may have changed it since the last version)
        ModelRegistry.TaskState state = registry.state(options.task());
        Optional<ModelUpdateEvent> serving = state.resolve(ModelUpdateEvent.SERVING);
        java.util.OptionalDouble servingAccuracy = serving
                .map(e -> java.util.OptionalDouble.of(accuracyNow(e, parent, version, validation, registry)))
                .orElse(java.util.OptionalDouble.empty());
        boolean promote = options.promotes(metrics.validationAccuracy(), servingAccuracy);
        p.beginTransaction();
        ModelUpdateEvent event = registry.publish(p, draft, artifact, TrainedHead.FORMAT);
        registry.setAlias(p, options.task(), ModelUpdateEvent.LATEST, version, ModelUpdateEvent.REASON_PUBLISHED, clock.instant());
        if (promote) {
            registry.setAlias(p, options.task(), ModelUpdateEvent.SERVING, version, ModelUpdateEvent.REASON_PROMOTED, clock.instant());
        }
        beforeCommit.accept(version);
        p.commitTransaction();
        log.info("[GRAFT-VERSION-PUBLISHED] task {} version {}: validation accuracy {} on {} images, trained on {}; {}",
                options.task(), version, metrics.validationAccuracy(), metrics.validationCount(), metrics.trainCount(),
                promote ? "promoted to serving" + serving.map(e -> " (was v" + e.version() + " at "
                        + e.metrics().validationAccuracy() + ")").orElse("")
                        : "not promoted: serving v" + serving.get().version() + " has validation accuracy "
                        + servingAccuracy.getAsDouble() + " on the same validation split (margin "
                        + options.promotionMargin() + ")");
        if (promote) {
            log.info("[GRAFT-PROMOTED] task {} version {} now serving (automatic, validation accuracy {}; was {})",
                    options.task(), version, metrics.validationAccuracy(), serving.map(e -> "v" + e.version()).orElse("none"));
        }
        return event;
    }

    /**
     * The serving version's accuracy on today's validation split, so a candidate and the serving head are
     * compared on the same rows (a head that lacks newer classes gets their rows wrong). Falls back to the
     * accuracy recorded in its event if it was trained on another base or cannot be evaluated.
     */
    private double accuracyNow(ModelUpdateEvent serving, Optional<TrainedHead> parent, int version,
                               VectorStore.SplitData validation, ModelRegistry registry) {
        double recorded = serving.metrics().validationAccuracy();
        if (store == null || !store.baseId().equals(serving.base().id()) || validation.size() == 0) {
            return recorded;
        }
        try {
            TrainedHead head = parent.isPresent() && serving.version() == version - 1 ? parent.get()
                    : TrainedHead.fromBytes(registry.fetch(serving.artifact()));
            double now = Evaluator.evaluate(head, validation).accuracy();
            log.info("serving v{} of {}: validation accuracy {} now ({} when published)", serving.version(),
                    options.task(), now, recorded);
            return now;
        } catch (RuntimeException e) {
            log.warn("cannot re-evaluate serving v{} of {}, using its recorded accuracy {}: {}", serving.version(),
                    options.task(), recorded, e.toString());
            return recorded;
        }
    }

    private static boolean positionsReached(Consumer<byte[], byte[]> c, Map<Integer, Long> target) {
        for (TopicPartition tp : c.assignment()) {
            Long t = target.get(tp.partition());
            if (t != null && c.position(tp) < t) {
                return false;
            }
        }
        return true;
    }

    private static Map<Integer, Long> positions(Consumer<byte[], byte[]> c) {
        Map<Integer, Long> m = new HashMap<>();
        for (TopicPartition tp : c.assignment()) {
            m.put(tp.partition(), c.position(tp));
        }
        return m;
    }

    @Override
    public void close() {
        if (!lifecycle.stop(Duration.ofSeconds(30))) {
            log.warn("head trainer of {} did not stop within 30 s", options.task());
        }
    }
}
