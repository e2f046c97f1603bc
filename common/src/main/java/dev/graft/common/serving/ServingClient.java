package dev.graft.common.serving;

import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.model.Aliases;
import dev.graft.common.model.ModelRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps an application on a task's {@code serving} version (or another alias, or a pinned version),
 * hot-swapping as the model-updates topic says:
 * <ul>
 *   <li>a background thread follows the topic ({@link ModelRegistry#follow}); when the target names a new
 *       version it fetches the artifact (reassembled and SHA-256 verified by {@link ModelRegistry#fetch}) and
 *       loads it fully with the {@link Loader}, <em>before</em> switching;</li>
 *   <li>the switch is one atomic reference swap: every {@link #call} runs on exactly one version, and its
 *       answer can name it (the {@link ModelUpdateEvent} is passed in);</li>
 *   <li>if fetching or loading fails the old version keeps serving (logged, reported to
 *       {@link #onLoadFailure}) and the failed version is tried again after a back-off that doubles from
 *       {@link Backoff#initial()} up to {@link Backoff#max()} (a transient failure, e.g. a model cache or
 *       network hiccup, does not leave the old version serving until the alias moves); if the target moves
 *       meanwhile, the new target is loaded at once;</li>
 *   <li>a replaced model is closed (if {@link AutoCloseable}) once the last call using it has returned.</li>
 * </ul>
 * {@code call} never blocks on a load; it fails only before the first version is loaded
 * ({@link #awaitReady}).
 *
 * @param <M> the loaded model, e.g. {@link HeadArtifact} (features in) or a base + head classifier (images in)
 */
public final class ServingClient<M> implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ServingClient.class);
    private static final Duration POLL = Duration.ofMillis(200);

    /** Builds the model of a version from its verified artifact bytes. */
    @FunctionalInterface
    public interface Loader<M> {
        M load(ModelUpdateEvent version, byte[] artifact) throws Exception;
    }

    /** Delays between attempts to load a version that failed: {@code initial}, doubling, at most {@code max}. */
    public record Backoff(Duration initial, Duration max) {
        public Backoff {
            if (initial == null || max == null || initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("need 0 < initial <= max, got " + initial + ", " + max);
            }
        }

        /** 1 s, doubling up to 1 min. */
        public static Backoff defaults() {
            return new Backoff(Duration.ofSeconds(1), Duration.ofMinutes(1));
        }

        /** The delay after {@code failures} consecutive failures (1 = the first). */
        public Duration after(int failures) {
            long nanos = initial.toNanos();
            for (int i = 1; i < failures && nanos < max.toNanos(); i++) {
                nanos = Math.min(max.toNanos(), nanos * 2);
            }
            return Duration.ofNanos(Math.min(nanos, max.toNanos()));
        }
    }

    /** What to follow: an alias ({@code serving}, {@code latest}) or a pinned version. */
    public record Target(String alias, Integer version) {
        public Target {
            if ((alias == null) == (version == null)) {
                throw new IllegalArgumentException("exactly one of alias and version");
            }
        }

        public static Target serving() {
            return new Target(ModelUpdateEvent.SERVING, null);
        }

        public static Target alias(String alias) {
            return new Target(alias, null);
        }

        public static Target pinned(int version) {
            return new Target(null, version);
        }

        @Override
        public String toString() {
            return alias != null ? alias : "v" + version;
        }
    }

    /** A model and the version it is, with a count of calls using it. */
    private final class Handle {
        final ModelUpdateEvent version;
        final M model;
        final AtomicInteger refs = new AtomicInteger(1); // the client's own reference while current

        Handle(ModelUpdateEvent version, M model) {
            this.version = version;
            this.model = model;
        }

        boolean acquire() {
            for (;;) {
                int r = refs.get();
                if (r == 0) {
                    return false;
                }
                if (refs.compareAndSet(r, r + 1)) {
                    return true;
                }
            }
        }

        void release() {
            if (refs.decrementAndGet() == 0 && model instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    log.warn("closing {} v{} failed: {}", version.task(), version.version(), e.toString());
                }
            }
        }
    }

    private final ModelRegistry registry;
    private final String task;
    private final Target target;
    private final Loader<M> loader;
    private final Backoff backoff;
    private final AtomicReference<Handle> current = new AtomicReference<>();
    private final CountDownLatch ready = new CountDownLatch(1);
    private final List<BiConsumer<ModelUpdateEvent, ModelUpdateEvent>> switchListeners = new CopyOnWriteArrayList<>();
    private final List<BiConsumer<ModelUpdateEvent, Exception>> failureListeners = new CopyOnWriteArrayList<>();
    private final ModelRegistry.Follower follower;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Exception lastFailure;

    private ServingClient(ModelRegistry registry, String task, Target target, Loader<M> loader, Backoff backoff) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.task = Objects.requireNonNull(task, "task");
        this.target = Objects.requireNonNull(target, "target");
        this.loader = Objects.requireNonNull(loader, "loader");
        this.backoff = Objects.requireNonNull(backoff, "backoff");
        this.follower = registry.follow(task);
        this.thread = new Thread(this::follow, "graft-serving-" + task);
        this.thread.setDaemon(true);
    }

    /** Starts following; the first version loads in the background ({@link #awaitReady}). */
    public static <M> ServingClient<M> start(ModelRegistry registry, String task, Target target, Loader<M> loader) {
        return start(registry, task, target, loader, Backoff.defaults());
    }

    /** As {@link #start(ModelRegistry, String, Target, Loader)}, retrying failed loads with {@code backoff}. */
    public static <M> ServingClient<M> start(ModelRegistry registry, String task, Target target, Loader<M> loader,
                                             Backoff backoff) {
        ServingClient<M> c = new ServingClient<>(registry, task, target, loader, backoff);
        c.thread.start();
        return c;
    }

    /** A client of plain heads: predict on feature vectors of the version's base. */
    public static ServingClient<HeadArtifact> heads(ModelRegistry registry, String task, Target target) {
        return start(registry, task, target, (v, bytes) -> HeadArtifact.read(bytes));
    }

    /** Called on the follower thread after each switch: (previous or null, new). */
    public void onSwitch(BiConsumer<ModelUpdateEvent, ModelUpdateEvent> listener) {
        switchListeners.add(listener);
    }

    /** Called on the follower thread when a version could not be fetched or loaded (the old one keeps serving). */
    public void onLoadFailure(BiConsumer<ModelUpdateEvent, Exception> listener) {
        failureListeners.add(listener);
    }

    /** Waits until a first version is loaded. */
    public boolean awaitReady(Duration timeout) throws InterruptedException {
        return ready.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The last fetch or load failure, if any (the version that failed is not serving). */
    public Optional<Exception> lastFailure() {
        return Optional.ofNullable(lastFailure);
    }

    /** The version serving now. */
    public Optional<ModelUpdateEvent> current() {
        Handle h = current.get();
        return h == null ? Optional.empty() : Optional.of(h.version);
    }

    /**
     * Runs {@code fn} on the current model and its version. The model is not closed while {@code fn} runs,
     * even if a switch happens meanwhile. IllegalStateException if no version is loaded yet.
     */
    public <R> R call(BiFunction<ModelUpdateEvent, M, R> fn) {
        for (;;) {
            Handle h = current.get();
            if (h == null) {
                throw new IllegalStateException("no version of task '" + task + "' (" + target + ") loaded yet");
            }
            if (!h.acquire()) {
                continue; // replaced and closed between get() and acquire(): take the new one
            }
            try {
                return fn.apply(h.version, h.model);
            } finally {
                h.release();
            }
        }
    }

    private void follow() {
        List<ModelUpdateEvent> events = new ArrayList<>();
        Map<Integer, ModelUpdateEvent> versions = new HashMap<>();
        Integer failed = null;      // the version whose last load failed
        int failures = 0;           // consecutive failures of it
        long retryAt = 0;           // System.nanoTime() at which it may be tried again
        try {
            while (running) {
                List<ModelUpdateEvent> fresh = follower.poll(POLL);
                boolean retryDue = failed != null && System.nanoTime() - retryAt >= 0;
                if (fresh.isEmpty() && !events.isEmpty() && !retryDue) {
                    continue;
                }
                for (ModelUpdateEvent e : fresh) {
                    events.add(e);
                    if (e.publishesVersion()) {
                        versions.put(e.version(), e);
                    }
                }
                OptionalInt wanted = wanted(events);
                if (wanted.isEmpty()) {
                    continue;
                }
                int v = wanted.getAsInt();
                Handle h = current.get();
                if (h != null && h.version.version() == v) {
                    failed = null; // e.g. rolled back to the version serving
                    continue;
                }
                if (Objects.equals(failed, v) && !retryDue) {
                    continue; // back-off running
                }
                ModelUpdateEvent version = versions.get(v);
                if (version == null) {
                    continue; // alias names a version not seen (yet)
                }
                if (!Objects.equals(failed, v)) {
                    failures = 0; // a new target: load it at once, count its own failures
                }
                try {
                    byte[] bytes = registry.fetch(version.artifact()); // verifies sha256
                    M model = loader.load(version, bytes);
                    failed = null;
                    failures = 0;
                    switchTo(new Handle(version, model));
                } catch (Exception e) {
                    failed = v;
                    failures++;
                    Duration delay = backoff.after(failures);
                    retryAt = System.nanoTime() + delay.toNanos();
                    lastFailure = e;
                    log.warn("[GRAFT-SERVING-LOAD-FAILED] cannot load {} v{} (attempt {}); {} keeps serving, retrying in {} ms: {}", task, v, failures,
                            h == null ? "nothing" : "v" + h.version.version(), delay.toMillis(), e.toString());
                    for (var l : failureListeners) {
                        l.accept(version, e);
                    }
                }
            }
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
        } finally {
            follower.close();
        }
    }

    private OptionalInt wanted(List<ModelUpdateEvent> events) {
        if (target.version() != null) {
            return OptionalInt.of(target.version());
        }
        return Aliases.replay(events).get(target.alias());
    }

    private void switchTo(Handle next) {
        Handle previous = current.getAndSet(next);
        log.info("[GRAFT-SERVING-SWITCHED] {} now serving v{} ({}){}", task, next.version.version(), target,
                previous == null ? "" : ", was v" + previous.version.version());
        ready.countDown();
        for (var l : switchListeners) {
            l.accept(previous == null ? null : previous.version, next.version);
        }
        if (previous != null) {
            previous.release();
        }
    }

    @Override
    public void close() {
        running = false;
        follower.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Handle h = current.getAndSet(null);
        if (h != null) {
            h.release();
        }
    }
}
