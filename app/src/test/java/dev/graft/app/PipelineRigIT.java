package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.os.ThreadNice;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code bench features}' (b) on a real broker and the real base: two workers join once, and each burst returns
 * exactly when its own images are committed, spread evenly over the workers, none dead-lettered; closed, the rig
 * leaves no inference thread and no topic behind.
 */
class PipelineRigIT {
    static final int RES = 64;

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void eachBurstIsTimedToItsOwnCommittedImagesAndSharedEvenlyByTheWorkers() throws Exception {
        try (KafkaTestCluster kafka = KafkaTestCluster.start(); BaseNetwork a = base(); BaseNetwork b = base()) {
            PipelineRig rig = rig(kafka, List.of(a, b), 1);
            boolean closed = false;
            try {
                assertThat(rig.workers()).isEqualTo(2);
                assertThat(rig.joinSeconds()).as("measured apart, before any burst").isPositive();
                assertThat(rig.featurizedByWorker()).containsExactly(0L, 0L);

                PipelineRig.Burst first = rig.burst(24, i -> FeatureBench.png(RES, i), 1);
                assertThat(rig.featurizedByWorker()).as("round-robin over the two partitions").containsExactly(12L, 12L);
                assertThat(first.imgS()).isPositive();
                assertThat(first.firstCommitS()).isGreaterThan(0).isLessThanOrEqualTo(24 / first.imgS());
                assertThat(first.described()).first().asString().contains("2 workers", "forward");

                PipelineRig.Burst second = rig.burst(8, i -> FeatureBench.png(RES, 100 + i), 1);
                assertThat(rig.featurizedByWorker()).as("the second burst only adds its own 8").containsExactly(16L, 16L);
                assertThat(second.imgS()).isPositive();
                assertThat(second.described()).first().asString().contains("context switches per batch");

                try (Admin admin = KafkaSettings.of(kafka.bootstrapServers()).admin()) {
                    assertThat(admin.listTopics().names().get()).anyMatch(t -> t.startsWith("bench-" + RES + "-4-"));
                    closed = true;
                    rig.close();
                    // the bench times the bare base between two rigs: their inference threads (and OpenMP pools) must be
                    // gone (the Java threads are joined; their native ends follow within moments)
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                    while (!ThreadNice.threadsNamed(PipelineRig.INFERENCE_THREADS).isEmpty() && System.nanoTime() < deadline) {
                        Thread.sleep(10);
                    }
                    assertThat(ThreadNice.threadsNamed(PipelineRig.INFERENCE_THREADS)).isEmpty();
                    assertThat(admin.listTopics().names().get()).noneMatch(t -> t.startsWith("bench-" + RES + "-4-"));
                }
            } finally {
                if (!closed) rig.close();
            }
        }
    }

    private static BaseNetwork base() {
        return BaseNetworks.load("nsfwjs:mobilenet_v2", "out_relu", RES, BaseNetworks.defaultCacheDir());
    }

    /** Workers of {@code lanes} lanes each over {@code bases}, committing every 100 ms, one OpenMP thread per lane. */
    private static PipelineRig rig(KafkaTestCluster kafka, List<BaseNetwork> bases, int lanes) throws InterruptedException {
        return new PipelineRig(KafkaSettings.of(kafka.bootstrapServers()), bases, lanes, RES, 4,
                o -> o.withCommitInterval(Duration.ofMillis(100)).withOmpThreads(1));
    }

    /** One worker with two inference lanes (a base copy each): every image once, both lanes' threads gone on close. */
    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void oneWorkerWithTwoLanesCommitsEveryImageOnceAndLeavesNoLaneThreadBehind() throws Exception {
        try (KafkaTestCluster kafka = KafkaTestCluster.start(); BaseNetwork a = base(); BaseNetwork b = base()) {
            PipelineRig rig = rig(kafka, List.of(a, b), 2);
            try {
                assertThat(rig.workers()).isEqualTo(1);
                assertThat(rig.lanes()).isEqualTo(2);
                assertThat(ThreadNice.threadsNamed(PipelineRig.INFERENCE_THREADS)).as("both lanes started").hasSizeGreaterThanOrEqualTo(2);
                PipelineRig.Burst burst = rig.burst(40, i -> FeatureBench.png(RES, i), 1);
                assertThat(rig.featurizedByWorker()).containsExactly(40L);
                assertThat(burst.described()).first().asString().contains("1 worker, 2 lanes each", "forward");
            } finally {
                rig.close();
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!ThreadNice.threadsNamed(PipelineRig.INFERENCE_THREADS).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(ThreadNice.threadsNamed(PipelineRig.INFERENCE_THREADS)).isEmpty();
        }
    }
}
