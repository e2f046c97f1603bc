package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code bench features}' (b) on a real broker and the real base: two workers join once, and each burst returns
 * exactly when its own images are committed, spread evenly over the workers, none dead-lettered.
 */
class PipelineRigIT {
    static final int RES = 64;

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void eachBurstIsTimedToItsOwnCommittedImagesAndSharedEvenlyByTheWorkers() throws Exception {
        try (KafkaTestCluster kafka = KafkaTestCluster.start();
             BaseNetwork a = BaseNetworks.load("nsfwjs:mobilenet_v2", "out_relu", RES, BaseNetworks.defaultCacheDir());
             BaseNetwork b = BaseNetworks.load("nsfwjs:mobilenet_v2", "out_relu", RES, BaseNetworks.defaultCacheDir());
             PipelineRig rig = new PipelineRig(KafkaSettings.of(kafka.bootstrapServers()), List.of(a, b), RES, 4,
                     o -> o.withCommitInterval(Duration.ofMillis(100)).withOmpThreads(1))) {
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
        }
    }
}
