package dev.graft.headtrainer;

import dev.graft.common.base.BaseArtifact;
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
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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
 * rebuilt from Kafka on every start), keeps the task's vectors in one {@link VectorStore} per candidate
 * base (every base seen for the task, or the ones pinned by {@link HeadTrainerOptions#baseIds()}), and when
 * the {@link TrainingPolicy} says so trains a head per candidate base on the same labelled images, scores
 * each on its validation rows and publishes the best as the task's next version (artifact + event in one
 * transaction; the event's {@code lineage.candidates} lists every candidate's score). The promotion gate
 * then decides whether it serves, as for any version.
 *
 * <p>Restart safety: version numbers continue after the task's latest published version, and the
 * vectors that version was trained on (its lineage offsets) do not count as new, so a restart does
 * not publish a duplicate version of the same data.
 */
public final class HeadTrainerService implements Runnable, AutoCloseable {
    /** {@code lineage.hyperParameters} key marking a head adopted from a fine-tuned base. */
    public static final String FINE_TUNED = "fineTuned";
    private static final Logger log = LoggerFactory.getLogger(HeadTrainerService.class);
    private static final Duration POLL = Duration.ofMillis(200);

    private final HeadTrainerOptions options;
    private final KafkaSettings kafka;
    private final Clock clock;
    private final HeadTrainer trainer = new HeadTrainer();
    private final RetrainTrigger retrainTrigger;
    private final List<java.util.function.Consumer<ModelUpdateEvent>> listeners = new CopyOnWriteArrayList<>();
    private final PollLoopLifecycle lifecycle = new PollLoopLifecycle();
    /** Candidate bases by id, in order of first appearance (written by the trainer thread only). */
    private final Map<String, Candidate> candidates = Collections.synchronizedMap(new LinkedHashMap<>());
    /** The base of the task's latest version (preferred on ties; {@link #store()}). */
    private volatile String currentBaseId;
    /** Test hook: runs inside the open transaction, after the artifact and event are sent, before the commit. */
    private volatile java.util.function.IntConsumer beforeCommit = v -> { };
    /** Per base id, the latest version published on it: the warm start of that candidate until it trains here. */
    private final Map<String, ModelUpdateEvent> latestPerBase = new HashMap<>();
    /** Base ids that took part in any round of the task (a base new to rounds gets one when it can). */
    private final Set<String> roundedBases = new java.util.HashSet<>();
    /** Bases known when the last round ran that could not take part in it. */
    private final Set<String> leftOut = new java.util.HashSet<>();
    /** Fine-tuned bases whose head this task has published (each adopted once, also across restarts). */
    private final Set<String> adoptedBases = new java.util.HashSet<>();
    /** The version this trainer published last and its head (spares a fetch when it is the serving one). */
    private Map.Entry<Integer, TrainedHead> lastPublished;

    /** A candidate base of the task: its vectors and the last head trained on it (the next warm start). */
    private static final class Candidate {
        final BaseRef ref;
        final VectorStore store;
        Optional<TrainedHead> head = Optional.empty();

        Candidate(BaseRef ref, VectorStore store) {
            this.ref = ref;
            this.store = store;
        }
    }

    public HeadTrainerService(HeadTrainerOptions options, KafkaSettings kafka, Clock clock) {
        this.options = options;
        this.kafka = kafka;
        this.clock = clock;
        this.retrainTrigger = new RetrainTrigger(options.autoRetrain());
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

    /**
     * Vectors of the base the task's latest version was trained on, else of the first base seen (null until
     * the first vector arrives).
     */
    public VectorStore store() {
        synchronized (candidates) {
            Candidate c = currentBaseId == null ? null : candidates.get(currentBaseId);
            if (c == null && !candidates.isEmpty()) {
                c = candidates.values().iterator().next();
            }
            return c == null ? null : c.store;
        }
    }

    /** Vectors held per candidate base id (a snapshot of the map; the stores are live). */
    public Map<String, VectorStore> stores() {
        synchronized (candidates) {
            Map<String, VectorStore> m = new LinkedHashMap<>();
            candidates.forEach((id, c) -> m.put(id, c.store));
            return m;
        }
    }

    @Override
    public void run() {
        lifecycle.started();
        MDC.put("worker", "head-trainer/" + options.task() + " ");
        ModelRegistry registry = new ModelRegistry(options.topics(), () -> kafka.consumer(null));
        try (FeatureBatchCodec codec = new FeatureBatchCodec();
             Consumer<byte[], byte[]> c = kafka.consumer(null);
             Producer<byte[], byte[]> p = kafka.transactionalProducer(options.transactionalId());
             ModelRegistry.Follower updates = registry.follow(options.task())) {
            lifecycle.owns(c);
            // transactionalProducer() has called initTransactions(): a previous trainer of this task is fenced.
            List<ModelUpdateEvent> published = registry.versions(options.task());
            Optional<ModelUpdateEvent> latest = published.isEmpty() ? Optional.empty()
                    : Optional.of(published.get(published.size() - 1));
            int nextVersion = latest.map(e -> e.version() + 1).orElse(1);
            // the latest published head per base: the warm start of a candidate until it trains here
            published.forEach(e -> latestPerBase.put(e.base().id(), e));
            published.stream().filter(HeadTrainerService::fineTuned).forEach(e -> adoptedBases.add(e.base().id()));
            currentBaseId = latest.map(e -> e.base().id()).orElse(null);
            published.forEach(e -> roundedBases.addAll(roundBases(e)));
            Map<Integer, Long> trainedUpTo = latest.map(e -> e.lineage().featureOffsets()).orElse(Map.of());
            latest.ifPresent(e -> log.info("resuming task {} after version {} (base {})", options.task(), e.version(), e.base().id()));

            List<TopicPartition> parts = c.partitionsFor(options.topics().features(), Duration.ofSeconds(30)).stream()
                    .map(pi -> new TopicPartition(pi.topic(), pi.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            TrainingPolicy policy = new TrainingPolicy(options.policy(), clock);
            LaggingBases lagging = new LaggingBases();
            boolean caughtUp = trainedUpTo.isEmpty();
            // train vectors from records below the latest version's lineage offsets: already trained on
            long alreadyTrained = 0;

            while (lifecycle.running()) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(POLL)) {
                    long before = trainSignal();
                    accept(codec, r);
                    Long boundary = trainedUpTo.get(r.partition());
                    if (!caughtUp && boundary != null && r.offset() < boundary) {
                        alreadyTrained += trainSignal() - before;
                    }
                }
                if (!caughtUp && positionsReached(c, trainedUpTo)) {
                    caughtUp = true;
                    // only what the latest version saw counts as trained; records read past its
                    // lineage offsets in the same polls are new (e.g. data that arrived while the
                    // previous trainer was down or before it could train)
                    policy.trained(alreadyTrained);
                    log.info("caught up with version {}: {} train vectors already trained on, {} new",
                            nextVersion - 1, alreadyTrained, trainSignal() - alreadyTrained);
                }
                if (!caughtUp) {
                    continue;
                }
                // fine-tuned bases published for the task since (or before) we started: adopt each once
                for (ModelUpdateEvent e : updates.poll(Duration.ZERO)) {
                    if (!e.publishesBase() || e.base() == null || adoptedBases.contains(e.base().id())) {
                        continue;
                    }
                    try {
                        ModelUpdateEvent adopted = adopt(p, registry, nextVersion, e, positions(c));
                        nextVersion++;
                        // its lineage offsets are where the features stood: as after a restart, what came before counts as trained
                        policy.trained(trainSignal());
                        for (var l : listeners) {
                            l.accept(adopted);
                        }
                    } catch (ProducerFencedException | AuthorizationException fatal) {
                        throw fatal;
                    } catch (KafkaException ke) {
                        // not adopted: seen again after a restart (the follower reads from the beginning)
                        log.warn("adopting base b{} of {} failed: {}", e.version(), options.task(), ke.toString());
                        abortQuietly(p);
                        PollLoopLifecycle.pause(options.retryBackoff());
                    } catch (RuntimeException bad) {
                        log.warn("cannot adopt base b{} of {} (skipped): {}", e.version(), options.task(), bad.toString());
                        adoptedBases.add(e.base().id());
                    }
                }
                if (candidates.isEmpty()) {
                    continue;
                }
                TrainingPolicy.Decision d = policy.check(trainSignal(), maxOverStores(s -> s.labels().size()),
                        maxOverStores(s -> s.size(Split.TRAIN)));
                List<Candidate> round = CandidateRound.eligible(List.copyOf(candidates.values()), k -> k.store,
                        options.policy().minLabels(), options.policy().minTrainCount());
                // a base that could not take part in the last round (still being featurized) and now can:
                // a round for it, even without new labels
                Optional<String> caughtUpBase = newcomer(round);
                if (round.isEmpty() || (!d.train() && caughtUpBase.isEmpty())) {
                    continue;
                }
                if (lagging.deferRound(round, c)) {
                    continue;
                }
                long seen = trainSignal();
                log.info("training task {} version {} on {} candidate base(s): {}", options.task(), nextVersion,
                        round.size(), d.train() ? d.reason() : "candidate base " + caughtUpBase.get() + " caught up");
                try {
                    long t0 = System.nanoTime();
                    List<CandidateRound.Entry> entries = new ArrayList<>();
                    for (Candidate k : round) {
                        entries.add(new CandidateRound.Entry(k.ref, k.store, warmStart(k, registry)));
                    }
                    CandidateRound.Result result = CandidateRound.run(trainer, options.head(), entries, currentBaseId);
                    ModelUpdateEvent event = publish(p, registry, nextVersion, result, positions(c));
                    lastTrainingTime = Duration.ofNanos(System.nanoTime() - t0);
                    // each head just trained is its base's next warm start (no round trip through Kafka: right
                    // after a commit the read_committed end offset may not have moved past the artifact yet)
                    for (int i = 0; i < round.size(); i++) {
                        round.get(i).head = Optional.of(result.outcomes().get(i).head());
                    }
                    currentBaseId = event.base().id();
                    roundedBases.addAll(roundBases(event));
                    leftOut.clear();
                    leftOut.addAll(candidates.keySet());
                    round.forEach(k -> leftOut.remove(k.ref.id()));
                    nextVersion++;
                    policy.trained(seen);
                    for (var l : listeners) {
                        l.accept(event);
                    }
                } catch (ProducerFencedException | AuthorizationException fatal) {
                    throw fatal;
                } catch (KafkaException e) {
                    log.warn("publishing version {} of {} failed, will retry: {}", nextVersion, options.task(), e.toString());
                    abortQuietly(p);
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

    /**
     * Holds a round back while a candidate base left out of it may still be arriving: the consumer has not
     * read to the end of the features topic (the records of several cuts of one image batch, written in one
     * transaction, can straddle two polls; a re-featurized base fills up over minutes), so candidates are
     * compared on the same images. For at most the policy's {@code maxWait}, so a long re-featurization does
     * not starve the task of new versions; a base that catches up later gets a round of its own.
     */
    private final class LaggingBases {
        private java.time.Instant deferredSince;

        boolean deferRound(List<Candidate> round, Consumer<byte[], byte[]> c) {
            boolean leftOut = candidates.size() > round.size();
            boolean pending = false;
            for (TopicPartition tp : c.assignment()) {
                java.util.OptionalLong lag = c.currentLag(tp);
                pending |= lag.isPresent() && lag.getAsLong() > 0;
            }
            java.time.Instant now = clock.instant();
            if (leftOut && pending && (deferredSince == null
                    || Duration.between(deferredSince, now).compareTo(options.policy().maxWait()) < 0)) {
                if (deferredSince == null) {
                    deferredSince = now;
                    log.info("task {}: round held back while a candidate base catches up", options.task());
                }
                return true;
            }
            deferredSince = null;
            return false;
        }
    }

    /**
     * A base of {@code round} that was in no training round of the task yet, or was left out of the last one
     * (none before the first round).
     */
    private Optional<String> newcomer(List<Candidate> round) {
        return roundedBases.isEmpty() ? Optional.empty() : round.stream().map(k -> k.ref.id())
                .filter(id -> !roundedBases.contains(id) || leftOut.contains(id)).findFirst();
    }

    /** The bases that took part in the training round that produced a version (none for an adopted head). */
    private static Set<String> roundBases(ModelUpdateEvent version) {
        if (fineTuned(version)) {
            return Set.of();
        }
        return version.lineage().candidates() == null ? Set.of(version.base().id())
                : Set.copyOf(version.lineage().candidates().keySet());
    }

    /**
     * The policy's count of new data: the most train-vector changes of any candidate base (each base gets
     * the same labelled images, so this counts images, not images x bases).
     */
    private long trainSignal() {
        synchronized (candidates) {
            long m = 0;
            for (Candidate k : candidates.values()) {
                m = Math.max(m, k.store.trainChanges());
            }
            return m;
        }
    }

    private int maxOverStores(java.util.function.ToIntFunction<VectorStore> f) {
        synchronized (candidates) {
            int m = 0;
            for (Candidate k : candidates.values()) {
                m = Math.max(m, f.applyAsInt(k.store));
            }
            return m;
        }
    }

    /** The last head trained on the candidate's base here, else the latest version published on it. */
    private Optional<TrainedHead> warmStart(Candidate k, ModelRegistry registry) {
        if (k.head.isEmpty() && latestPerBase.containsKey(k.ref.id())) {
            ModelUpdateEvent e = latestPerBase.remove(k.ref.id());
            try {
                k.head = Optional.of(TrainedHead.fromBytes(registry.fetch(e.artifact())));
            } catch (RuntimeException ex) {
                log.warn("cannot load v{} of {} as warm start for base {}, training from scratch: {}", e.version(),
                        options.task(), k.ref.id(), ex.toString());
            }
        }
        return k.head;
    }

    private void accept(FeatureBatchCodec codec, ConsumerRecord<byte[], byte[]> r) {
        List<FeatureRow> rows;
        Optional<BaseRef> declared;
        try {
            rows = codec.decode(r.value());
            declared = FeatureHeaders.baseRef(r.headers()); // validates the header early
        } catch (RuntimeException e) {
            log.warn("skipping unreadable feature batch at {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.getMessage());
            return;
        }
        for (FeatureRow row : rows) {
            if (!options.task().equals(row.task()) || row.label() == null 
                    || !(options.acceptsBase(row.baseId()) || adoptedBases.contains(row.baseId()))) {
                continue;
            }
            Candidate k = candidates.get(row.baseId());
            if (k == null) {
                if (declared.isEmpty() || !declared.get().id().equals(row.baseId())) {
                    log.warn("skipping feature batch at {}-{}@{}: no {} header for base {}", r.topic(), r.partition(),
                            r.offset(), FeatureHeaders.BASE_REF, row.baseId());
                    return;
                }
                k = new Candidate(declared.get(), new VectorStore(options.task(), row.baseId(), row.vector().length));
                candidates.put(row.baseId(), k);
                log.info("task {}: candidate base {} ({} cut at {}, {}-d)", options.task(), row.baseId(),
                        declared.get().spec(), declared.get().cut(), row.vector().length);
            }
            k.store.add(row);
        }
    }

    private static void abortQuietly(Producer<byte[], byte[]> p) {
        try {
            p.abortTransaction();
        } catch (KafkaException | IllegalStateException abortFailure) {
            log.warn("abort failed: {}", abortFailure.toString());
        }
    }

    /** Whether a head version is a fine-tuned head adopted from a base-published event. */
    static boolean fineTuned(ModelUpdateEvent version) {
        return version.lineage() != null && version.lineage().hyperParameters() != null
                && Boolean.TRUE.equals(version.lineage().hyperParameters().get(FINE_TUNED));
    }

    /**
     * Publishes the fine-tuned head of a {@code base-published} event as the task's next head version (base = the
     * new base, metrics = the event's, {@code hyperParameters.fineTuned = true}, {@code baseVersion} = the base's
     * version; {@code featureOffsets} = the features read so far), through the promotion gate; from then on the new base is a candidate like any other, its features
     * coming from the feature workers' re-featurization.
     */
    private ModelUpdateEvent adopt(Producer<byte[], byte[]> p, ModelRegistry registry, int version,
                                   ModelUpdateEvent base, Map<Integer, Long> offsets) {
        BaseArtifact artifact = BaseArtifact.read(registry.fetch(base.artifact()));
        if (!artifact.ref().id().equals(base.base().id())) {
            throw new IllegalArgumentException("artifact of base b" + base.version() + " holds base " + artifact.ref().id()
                    + ", its event names " + base.base().id());
        }
        byte[] headBytes = artifact.headZip();
        TrainedHead head = TrainedHead.fromBytes(headBytes);
        Map<String, Object> hyper = new LinkedHashMap<>();
        if (base.lineage() != null && base.lineage().hyperParameters() != null) {
            hyper.putAll(base.lineage().hyperParameters());
        }
        hyper.put(FINE_TUNED, true);
        hyper.put("baseVersion", base.version());
        ModelUpdateEvent draft = new ModelUpdateEvent(ModelUpdateEvent.VERSION_PUBLISHED, options.task(), version,
                clock.instant(), base.base(), head.labels(), base.metrics(),
                new ModelUpdateEvent.Lineage(offsets, hyper, head.config().architecture(), version > 1 ? version - 1 : null),
                null);
        log.info("adopting fine-tuned base b{} of {} ({}) as version {}", base.version(), options.task(),
                base.base().id(), version);
        ModelUpdateEvent event = publishVersion(p, registry, draft, headBytes, head);
        adoptedBases.add(base.base().id());
        latestPerBase.put(base.base().id(), event);
        currentBaseId = base.base().id();
        return event;
    }

    private ModelUpdateEvent publish(Producer<byte[], byte[]> p, ModelRegistry registry, int version,
                                     CandidateRound.Result result, Map<Integer, Long> offsets) {
        CandidateRound.Outcome won = result.winner();
        TrainedHead head = won.head();
        ModelUpdateEvent.Metrics metrics = won.validation().toMetrics(won.store().size(Split.TRAIN));
        Map<String, Object> hyper = new HashMap<>(options.head().toMap());
        ModelUpdateEvent draft = new ModelUpdateEvent(ModelUpdateEvent.VERSION_PUBLISHED, options.task(), version,
                clock.instant(), won.base(), head.labels(), metrics,
                new ModelUpdateEvent.Lineage(offsets, hyper, options.head().architecture(),
                        version > 1 ? version - 1 : null, result.candidates()),
                null);
        ModelUpdateEvent event = publishVersion(p, registry, draft, head.toBytes(), head);
        if (result.candidates() != null) {
            log.info("task {} version {}: base {} (cut {}) won; candidates {}", options.task(), version,
                    won.base().id(), won.base().cut(), result.candidates());
        }
        return event;
    }

    /** Publishes a version and its aliases in one transaction: {@code latest}, and {@code serving} if the gate passes. */
    private ModelUpdateEvent publishVersion(Producer<byte[], byte[]> p, ModelRegistry registry, ModelUpdateEvent draft,
                                            byte[] artifact, TrainedHead head) {
        int version = draft.version();
        ModelUpdateEvent.Metrics metrics = draft.metrics();
        // serving as of now (a manual promote or rollback may have changed it since the last version)
        ModelRegistry.TaskState state = registry.state(options.task());
        Optional<ModelUpdateEvent> serving = state.resolve(ModelUpdateEvent.SERVING);
        java.util.OptionalDouble servingAccuracy = serving
                .map(e -> java.util.OptionalDouble.of(accuracyNow(e, registry)))
                .orElse(java.util.OptionalDouble.empty());
        boolean promote = options.promotes(metrics.validationAccuracy(), servingAccuracy);
        p.beginTransaction();
        ModelUpdateEvent event = registry.publish(p, draft, artifact, TrainedHead.FORMAT);
        registry.setAlias(p, options.task(), ModelUpdateEvent.LATEST, version, ModelUpdateEvent.REASON_PUBLISHED, clock.instant());
        if (promote) {
            registry.setAlias(p, options.task(), ModelUpdateEvent.SERVING, version, ModelUpdateEvent.REASON_PROMOTED, clock.instant());
        }
        // the optional plateau policy: a retrain request, in the version's transaction (exactly one per plateau)
        Optional<dev.graft.common.contract.RetrainRequest> retrain = retrainTrigger.requestFor(options.task(),
                state.versions(), draft, clock.instant());
        retrain.ifPresent(r -> p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(options.topics().retrainRequests(),
                options.task().getBytes(java.nio.charset.StandardCharsets.UTF_8), dev.graft.common.json.Json.toBytes(r))));
        beforeCommit.accept(version);
        p.commitTransaction();
        retrainTrigger.committed(retrain.isPresent());
        retrain.ifPresent(r -> log.info("[GRAFT-RETRAIN-REQUESTED] task {} request {} with version {}: {}", options.task(),
                r.requestId(), version, r.reason()));
        lastPublished = Map.entry(version, head);
        log.info("[GRAFT-VERSION-PUBLISHED] task {} version {}: base {} (cut {}), validation accuracy {} on {} images, "
                        + "trained on {}; {}",
                options.task(), version, draft.base().id(), draft.base().cut(), metrics.validationAccuracy(),
                metrics.validationCount(), metrics.trainCount(),
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
     * The serving version's accuracy on today's validation rows of its base, so a candidate and the serving
     * head are compared on the same images (a head that lacks newer classes gets their rows wrong). Falls
     * back to the accuracy recorded in its event if its base is not a candidate here or it cannot be evaluated.
     */
    private double accuracyNow(ModelUpdateEvent serving, ModelRegistry registry) {
        double recorded = serving.metrics().validationAccuracy();
        Candidate k = candidates.get(serving.base().id());
        if (k == null || k.store.size(Split.VALIDATION) == 0) {
            return recorded;
        }
        try {
            Map.Entry<Integer, TrainedHead> mine = lastPublished;
            TrainedHead head = mine != null && mine.getKey() == serving.version() ? mine.getValue()
                    : TrainedHead.fromBytes(registry.fetch(serving.artifact()));
            double now = Evaluator.evaluate(head, k.store.validation()).accuracy();
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
