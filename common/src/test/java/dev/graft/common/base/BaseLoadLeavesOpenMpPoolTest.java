package dev.graft.common.base;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.graft.common.os.ThreadNice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The failure covered: a base loaded on a long-lived thread (a worker's main thread) left that thread an OpenMP
 * pool, so the process held two pools and libgomp throttled the inference thread's (it slept and woke at every
 * layer: 200-380 context switches per batch, ~10% fewer images/s). Loading must leave the calling thread no OpenMP
 * helper.
 *
 * <p>OpenMP's helper threads are native threads that Linux names after the thread that created them, so the
 * helpers of a pool show up in {@code /proc/self/task} under its owner's name (before the fix: the caller and
 * three more, its OpenMP helper and ND4J's two pool threads, which a first native op starts). Linux only; needs at least two
 * CPUs (with one, OpenMP starts no helpers and there is nothing to leak).
 */
class BaseLoadLeavesOpenMpPoolTest {
    /** 15 characters at most: Linux keeps no more of a thread's name. */
    private static final String CALLER = "omp-pool-caller";

    @Test
    void loadingOnALongLivedThreadLeavesItNoOpenMpHelpers() throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "needs Linux /proc");
        assumeTrue(Runtime.getRuntime().availableProcessors() >= 2, "OpenMP starts no helpers on one CPU");
        Path cache = Path.of(System.getProperty("graft.test.models", "target/test-models"));
        CountDownLatch loaded = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Integer> dims = new CompletableFuture<>();
        Thread caller = new Thread(() -> {
            try {
                BaseNetworks.Source src = BaseNetworks.loadSource(BaseSpec.parse("nsfwjs:mobilenet_v2"), cache,
                        BaseNetworks.defaultZooDir(), true);
                try (BaseNetwork net = BaseNetworks.load(src, null, 96, "folded")) {
                    dims.complete(net.ref().featureDim());
                }
            } catch (Throwable e) {
                dims.completeExceptionally(e);
            } finally {
                loaded.countDown();
            }
            try {
                release.await(); // stays alive, as a worker's main thread does
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, CALLER);
        caller.start();
        try {
            assertThat(loaded.await(5, TimeUnit.MINUTES)).isTrue();
            assertThat(dims.get()).isEqualTo(1280); // the load really ran (and so did the folded executor's check)
            List<Integer> named = ThreadNice.threadsNamed(CALLER);
            assertThat(named).as("threads named after the caller: itself and any OpenMP helper it owns").hasSize(1);
        } finally {
            release.countDown();
            caller.join();
        }
    }
}
