package dev.graft.common.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.graft.common.contract.Topics;
import java.time.Duration;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/** The fixture itself: whatever it picks here (embedded without Docker) answers and takes topics. */
class KafkaTestClusterTest {
    @Test
    void givesAReachableBroker() {
        try (KafkaTestCluster kafka = KafkaTestCluster.start()) {
            System.out.println("KafkaTestCluster kind: " + kafka.kind());
            KafkaSettings s = kafka.settings();
            assertThat(s.requireReachable(Duration.ofSeconds(10))).isNotBlank();
            try (Admin admin = s.admin()) {
                assertThat(TopicAdmin.ensureTopics(admin, Topics.defaults(), 1)).hasSize(Topics.defaults().all().size());
            }
        }
    }

    /** The failure this covers: forcing the container variant on a machine without Docker failed the suite. */
    @Test
    void withoutDockerTheContainerVariantIsSkippedNotFailed() {
        Assumptions.assumeFalse(KafkaTestCluster.dockerAvailable(), "a Docker daemon runs here");
        assertThatThrownBy(KafkaTestCluster::startContainer).isInstanceOf(TestAbortedException.class)
                .hasMessageContaining("no Docker daemon");
    }
}
