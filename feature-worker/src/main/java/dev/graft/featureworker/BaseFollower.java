package dev.graft.featureworker;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.PollLoopLifecycle;
import dev.graft.common.model.ModelRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-featurization: follows the model-updates topic for {@code base-published} events (all tasks) and, for each
 * new base, runs in this process a {@link FeatureWorker} over the whole images log with that base: consumer group
 * {@code GROUP.base-BASEID} (shared by every worker following that base, so each image is featurized once per
 * base), transactional id from the worker id and the base id, the same transactional loop. Features of older bases
 * stay on the topic.
 *
 * <p>At most {@code maxBases} bases are followed at once: the newest ones. A newer base beyond the cap stops the
 * oldest followed one (its group keeps its offsets; it resumes if followed again). On start the topic is read to
 * its end first, so a restart starts only the newest bases instead of loading every historic one. A base that
 * cannot be loaded is logged and skipped. One thread ({@link #run()}); {@link #close()} from any.
 */
public final class BaseFollower implements Runnable, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BaseFollower.class);
    private static final Duration POLL = Duration.ofMillis(200);

    /** Loads a published base (normally {@code BaseResolver.load(ref.spec(), ref.cut(), ref.inputSize())}). */
    public interface BaseLoader {
        BaseNetwork load(BaseRef ref);
    }

    /** Makes the worker of one followed base, with one copy of it per inference lane ({@code options.lanes()}). */
    public interface WorkerFactory {
        FeatureWorker create(FeatureWorkerOptions options, List<BaseNetwork> laneBases);
    }

    private final FeatureWorkerOptions parent;
    private final String followGroup;
    private final Supplier<Consumer<byte[], byte[]>> eventsConsumer;
    private final BaseLoader loader;
    private final WorkerFactory workers;
    private final int maxBases;
    private final Set<String> skipped;
    private final PollLoopLifecycle lifecycle = new PollLoopLifecycle();
    /** Followed bases by id, oldest first. Owned by the follower thread until it ends. */
    private final Map<String, Followed> followed = new LinkedHashMap<>();
    private final Set<String> failed = new HashSet<>();

    private record Followed(BaseRef ref, FeatureWorker worker, List<BaseNetwork> networks, Thread thread) {}

    /**
     * @param parent the process's feature worker options (worker id, batch size, timeouts)
     * @param followGroup the GROUP of {@code GROUP.base-BASEID}
     * @param eventsConsumer a {@code read_committed} consumer without a group (assign/seek only)
     * @param ownBaseIds bases the process already featurizes in its main group (not followed again)
     */
    public BaseFollower(FeatureWorkerOptions parent, String followGroup, Supplier<Consumer<byte[], byte[]>> eventsConsumer,
                        BaseLoader loader, WorkerFactory workers, int maxBases, Set<String> ownBaseIds) {
        if (maxBases < 1) throw new IllegalArgumentException("at least one followed base, got " + maxBases);
        if (followGroup == null || followGroup.isBlank()) throw new IllegalArgumentException("followGroup is blank");
        this.parent = parent;
        this.followGroup = followGroup;
        this.eventsConsumer = eventsConsumer;
        this.loader = loader;
        this.workers = workers;
        this.maxBases = maxBases;
        this.skipped = Set.copyOf(ownBaseIds);
    }

    /** A follower on a Kafka cluster whose base workers are {@link FeatureWorker#create} workers. */
    public static BaseFollower create(FeatureWorkerOptions parent, String followGroup, KafkaSettings kafka,
                                      BaseLoader loader, int maxBases, Set<String> ownBaseIds) {
        return new BaseFollower(parent, followGroup, () -> kafka.consumer(null), loader,
                (o, laneBases) -> FeatureWorker.create(o, kafka, laneBases), maxBases, ownBaseIds);
    }

    /** Options of the worker that featurizes the images log with base {@code baseId}. */
    public static FeatureWorkerOptions optionsFor(FeatureWorkerOptions parent, String followGroup, String baseId) {
        return new FeatureWorkerOptions(parent.topics(), followGroup + ".base-" + baseId,
                parent.workerId() + ".base-" + baseId, parent.batchSize(), parent.maxBatchWait(),
                parent.shutdownTimeout(), parent.retryBackoff(), parent.warmUp(), parent.decodeAhead(),
                parent.commitInterval(), parent.ompThreads(), parent.backgroundPolicy(), parent.backgroundNice(),
                parent.queuedImages(), parent.lanes());
    }

    /** Ids of the bases followed now, oldest first (a snapshot; for tests and logs). */
    public synchronized List<String> followedBaseIds() {
        return new ArrayList<>(followed.keySet());
    }

    /** Images featurized by the followed bases' workers so far. */
    public synchronized long featurizedCount() {
        long n = 0;
        for (Followed f : followed.values()) n += f.worker().featurizedCount();
        return n;
    }

    @Override
    public void run() {
        lifecycle.started();
        try (Consumer<byte[], byte[]> c = eventsConsumer.get()) {
            lifecycle.owns(c);
            String topic = parent.topics().modelUpdates();
            List<TopicPartition> parts = c.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            // Catch up first: only the newest maxBases of the history are started.
            Map<String, ModelUpdateEvent> history = new LinkedHashMap<>();
            while (lifecycle.running() && !parts.stream().allMatch(tp -> c.position(tp) >= end.get(tp))) {
                for (ModelUpdateEvent e : bases(c.poll(POLL))) {
                    history.remove(e.base().id());
                    history.put(e.base().id(), e);
                }
            }
            List<ModelUpdateEvent> newest = new ArrayList<>(history.values());
            newest.removeIf(e -> skipped.contains(e.base().id()));
            for (ModelUpdateEvent e : newest.subList(Math.max(0, newest.size() - maxBases), newest.size())) {
                follow(e);
            }
            log.info("following base-published events on {} (group {}.base-*, at most {} bases)", topic, followGroup,
                    maxBases);
            while (lifecycle.running()) {
                for (ModelUpdateEvent e : bases(c.poll(POLL))) {
                    follow(e);
                }
            }
        } catch (WakeupException e) {
            if (lifecycle.running()) throw e;
        } finally {
            stopAll();
            lifecycle.finished();
        }
    }

    private static List<ModelUpdateEvent> bases(Iterable<ConsumerRecord<byte[], byte[]>> records) {
        List<ModelUpdateEvent> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            ModelUpdateEvent e = ModelRegistry.parse(r);
            if (e != null && e.publishesBase() && e.base() != null) out.add(e);
        }
        return out;
    }

    private void follow(ModelUpdateEvent e) {
        BaseRef ref = e.base();
        if (skipped.contains(ref.id()) || failed.contains(ref.id())) return;
        synchronized (this) {
            if (followed.containsKey(ref.id())) return;
        }
        List<BaseNetwork> networks = new ArrayList<>(); // one copy per inference lane
        try {
            for (int i = 0; i < parent.lanes(); i++) networks.add(loader.load(ref));
        } catch (RuntimeException ex) {
            networks.forEach(BaseNetwork::close);
            failed.add(ref.id());
            log.error("cannot load base {} ({}, base version {} of task {}); not re-featurizing with it: {}", ref.id(),
                    ref.spec(), e.version(), e.task(), ex.toString());
            return;
        }
        String loaded = networks.get(0).ref().id();
        if (!loaded.equals(ref.id())) {
            failed.add(ref.id());
            networks.forEach(BaseNetwork::close);
            log.error("base {} loads with id {}; not re-featurizing with it", ref.id(), loaded);
            return;
        }
        FeatureWorkerOptions o = optionsFor(parent, followGroup, ref.id());
        FeatureWorker worker = workers.create(o, networks);
        Thread t = new Thread(() -> {
            try {
                worker.run();
            } catch (RuntimeException ex) {
                log.error("re-featurization with base {} stopped: {}", ref.id(), ex.toString());
            }
        }, "graft-refeaturize-" + ref.id());
        t.setDaemon(true);
        synchronized (this) {
            followed.put(ref.id(), new Followed(ref, worker, networks, t));
        }
        t.start();
        log.info("[GRAFT-REFEATURIZE] base {} ({}) of task {}: featurizing the images log in group {}", ref.id(),
                ref.spec(), e.task(), o.groupId());
        while (followedCount() > maxBases) {
            Followed oldest;
            synchronized (this) {
                Iterator<Followed> it = followed.values().iterator();
                oldest = it.next();
                it.remove();
            }
            log.info("following more than {} bases: stopping re-featurization with the oldest, {}", maxBases,
                    oldest.ref().id());
            stop(oldest);
        }
    }

    private synchronized int followedCount() {
        return followed.size();
    }

    private void stopAll() {
        List<Followed> all;
        synchronized (this) {
            all = new ArrayList<>(followed.values());
            followed.clear();
        }
        for (Followed f : all) f.worker().requestStop(); // all at once: close stays within one shutdown timeout
        for (Followed f : all) stop(f);
    }

    private void stop(Followed f) {
        f.worker().close();
        try {
            f.thread().join(parent.shutdownTimeout().toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!f.thread().isAlive()) f.networks().forEach(BaseNetwork::close);
    }

    /** Stops following: every base worker finishes as on its own close. */
    @Override
    public void close() {
        if (!lifecycle.stop(parent.shutdownTimeout())) {
            log.warn("base follower did not stop within {}", parent.shutdownTimeout());
        }
    }
}
