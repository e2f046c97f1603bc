package dev.graft.common.kafka;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.Consumer;

/**
 * Start/stop bookkeeping of a loop that owns a Kafka consumer on one thread and is stopped from another
 * thread through {@code wakeup()}. The loop calls {@link #started()}, {@link #owns}, checks
 * {@link #running()} and calls {@link #finished()} in its {@code finally}; {@link #stop} may be called from
 * any thread, any number of times.
 */
public final class PollLoopLifecycle {
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile boolean running = true;
    private volatile boolean started;
    private volatile Consumer<?, ?> consumer;

    /** First thing on the loop thread. */
    public void started() {
        started = true;
    }

    /** The consumer the loop polls; {@link #stop} wakes it up. */
    public void owns(Consumer<?, ?> c) {
        consumer = c;
    }

    public boolean running() {
        return running;
    }

    /** Last thing on the loop thread, in a {@code finally}. */
    public void finished() {
        consumer = null;
        finished.countDown();
    }

    /**
     * Ends the loop: no new iteration starts, a blocked {@code poll()} returns through {@code wakeup()}.
     *
     * @return true when the loop finished within {@code timeout}, or never started
     */
    public boolean stop(Duration timeout) {
        running = false;
        Consumer<?, ?> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        if (!started) {
            return true;
        }
        try {
            return finished.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Sleeps for a retry back-off; an interrupt ends the sleep early and stays set. */
    public static void pause(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
