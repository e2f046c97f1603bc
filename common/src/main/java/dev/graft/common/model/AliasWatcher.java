package dev.graft.common.model;

import dev.graft.common.contract.ModelUpdateEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows a task's aliases on a daemon thread (no artifacts are fetched), for processes that only need to
 * know which version serves, e.g. for the {@code graft_serving_version} gauge of a head trainer.
 */
public final class AliasWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AliasWatcher.class);
    private static final Duration POLL = Duration.ofMillis(500);

    private final ModelRegistry.Follower follower;
    private final Thread thread;
    private volatile Aliases aliases = Aliases.replay(List.of());
    private volatile boolean running = true;

    private AliasWatcher(ModelRegistry registry, String task) {
        this.follower = registry.follow(task);
        this.thread = new Thread(this::follow, "graft-aliases-" + task);
        this.thread.setDaemon(true);
    }

    public static AliasWatcher start(ModelRegistry registry, String task) {
        AliasWatcher w = new AliasWatcher(registry, task);
        w.thread.start();
        return w;
    }

    /** The version an alias names now, as far as this watcher has read. */
    public OptionalInt get(String alias) {
        return aliases.get(alias);
    }

    public OptionalInt serving() {
        return get(ModelUpdateEvent.SERVING);
    }

    private void follow() {
        List<ModelUpdateEvent> events = new ArrayList<>();
        try {
            while (running) {
                List<ModelUpdateEvent> fresh = follower.poll(POLL);
                if (!fresh.isEmpty()) {
                    events.addAll(fresh);
                    aliases = Aliases.replay(events);
                }
            }
        } catch (WakeupException e) {
            if (running) {
                log.warn("alias watcher woken up while running: {}", e.toString());
            }
        } finally {
            follower.close();
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
    }
}
