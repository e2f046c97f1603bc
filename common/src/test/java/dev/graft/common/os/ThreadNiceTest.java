package dev.graft.common.os;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ThreadNiceTest {

    @BeforeEach
    void linuxOnly() {
        assumeTrue(ThreadNice.supported(), "per-thread nice values are Linux-only");
    }

    /** Runs {@code body} on a fresh thread (so this test's own thread keeps its priority) and returns its result. */
    private static <T> T onFreshThread(java.util.concurrent.Callable<T> body) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(body.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, "nice-test");
        t.start();
        return f.get(30, TimeUnit.SECONDS);
    }

    @Test
    void lowersOnlyTheCallingThreadAndThreadsItStartsAfterwards() throws Exception {
        int mine = ThreadNice.niceOf(ThreadNice.currentTid());
        int target = Math.min(ThreadNice.MAX, mine + 5);
        int[] seen = onFreshThread(() -> {
            int[] before = new int[1];
            Thread early = new Thread(() -> sleepQuietly(2_000), "started-before");
            early.start();
            int earlyTid = tidOf(early);
            int now = ThreadNice.lowerCurrentThread(target);
            int[] child = new int[1];
            Thread late = new Thread(() -> {
                try {
                    child[0] = ThreadNice.niceOf(ThreadNice.currentTid());
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, "started-after");
            late.start();
            late.join();
            before[0] = ThreadNice.niceOf(earlyTid);
            early.interrupt();
            return new int[] {now, child[0], before[0]};
        });
        assertThat(seen[0]).as("the calling thread").isEqualTo(target);
        assertThat(seen[1]).as("a thread it started afterwards inherits it").isEqualTo(target);
        assertThat(seen[2]).as("a thread it started before keeps its own").isEqualTo(mine);
        assertThat(ThreadNice.niceOf(ThreadNice.currentTid())).as("other threads of the process").isEqualTo(mine);
    }

    @Test
    void idlePolicyHoldsForTheCallingThreadAndThreadsItStartsAfterwardsOnly() throws Exception {
        int mine = ThreadNice.policyOf(ThreadNice.currentTid());
        assumeTrue(mine != ThreadNice.SCHED_IDLE, "this test's thread is under SCHED_IDLE already");
        int[] seen = onFreshThread(() -> {
            Thread early = new Thread(() -> sleepQuietly(2_000), "started-before");
            early.start();
            int earlyTid = tidOf(early);
            ThreadNice.idleCurrentThread();
            ThreadNice.idleCurrentThread(); // again: a no-op, not an error
            int[] child = new int[1];
            Thread late = new Thread(() -> {
                try {
                    child[0] = ThreadNice.policyOf(ThreadNice.currentTid());
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, "started-after");
            late.start();
            late.join();
            int before = ThreadNice.policyOf(earlyTid);
            early.interrupt();
            return new int[] {ThreadNice.policyOf(ThreadNice.currentTid()), child[0], before};
        });
        assertThat(seen[0]).as("the calling thread").isEqualTo(ThreadNice.SCHED_IDLE);
        assertThat(seen[1]).as("a thread it started afterwards inherits it").isEqualTo(ThreadNice.SCHED_IDLE);
        assertThat(seen[2]).as("a thread it started before keeps its own").isEqualTo(mine);
        assertThat(ThreadNice.policyOf(ThreadNice.currentTid())).as("other threads of the process").isEqualTo(mine);
    }

    @Test
    void neverRaisesAPriority() throws Exception {
        int mine = ThreadNice.niceOf(ThreadNice.currentTid());
        assumeTrue(mine < ThreadNice.MAX, "needs room below the lowest priority");
        int[] seen = onFreshThread(() -> {
            int low = ThreadNice.lowerCurrentThread(mine + 1);
            return new int[] {low, ThreadNice.lowerCurrentThread(mine)};
        });
        assertThat(seen[0]).isEqualTo(mine + 1);
        assertThat(seen[1]).as("asking for a higher priority leaves the lower one").isEqualTo(mine + 1);
    }

    @Test
    void findsAnotherThreadByNameAndLowersItAlone() throws Exception {
        int mine = ThreadNice.niceOf(ThreadNice.currentTid());
        int target = Math.min(ThreadNice.MAX, mine + 3);
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        Thread other = new Thread(() -> {
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "nice-other-42");
        other.start();
        try {
            int tid = tidOf(other);
            assertThat(ThreadNice.threadsNamed("nice-other-")).containsExactly(tid);
            assertThat(ThreadNice.lower(tid, target)).isEqualTo(target);
            assertThat(ThreadNice.niceOf(tid)).isEqualTo(target);
            assertThat(ThreadNice.niceOf(ThreadNice.currentTid())).as("the caller").isEqualTo(mine);
        } finally {
            done.countDown();
            other.join();
        }
    }

    @Test
    void rejectsValuesOutsideTheUnprivilegedRange() {
        assertThatThrownBy(() -> ThreadNice.lowerCurrentThread(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0..19");
        assertThatThrownBy(() -> ThreadNice.lowerCurrentThread(20)).isInstanceOf(IllegalArgumentException.class);
    }

    /** The kernel id of a started thread: it writes it where we can wait for it. */
    private static int tidOf(Thread t) throws Exception {
        // A thread cannot be asked for its tid from outside; find it by name in /proc/self/task (the JVM names
        // the kernel thread once it runs).
        for (int i = 0; i < 100; i++) {
            java.util.List<Integer> tids = ThreadNice.threadsNamed(t.getName());
            if (tids.size() == 1) {
                return tids.get(0);
            }
            Thread.sleep(10);
        }
        throw new AssertionError("thread " + t.getName() + " not found in /proc/self/task");
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
