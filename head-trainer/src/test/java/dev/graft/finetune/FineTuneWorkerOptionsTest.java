package dev.graft.finetune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.graft.common.contract.Topics;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class FineTuneWorkerOptionsTest {

    @Test
    void blankIdsAndNonPositiveLimitsAreRejected() {
        Path p = Path.of("/tmp");
        assertThatThrownBy(() -> FineTuneWorkerOptions.defaults(Topics.defaults(), " ", p, p))
                .hasMessageContaining("workerId");
        FineTuneWorkerOptions ok = FineTuneWorkerOptions.defaults(Topics.defaults(), "w1", p, p);
        assertThat(ok.transactionalId()).isEqualTo("graft-fine-tune-worker-w1");
        assertThatThrownBy(() -> ok.withGroupId("")).hasMessageContaining("groupId");
        assertThatThrownBy(() -> new FineTuneWorkerOptions(Topics.defaults(), "g", "w", p, p, 0, 0.01, 16, 1,
                Duration.ofSeconds(1), Duration.ofSeconds(1))).hasMessageContaining("maxEpochs");
        assertThatThrownBy(() -> new FineTuneWorkerOptions(Topics.defaults(), "g", "w", p, p, 5, Double.NaN, 16, 1,
                Duration.ofSeconds(1), Duration.ofSeconds(1))).hasMessageContaining("maxLearningRate");
        assertThatThrownBy(() -> new FineTuneWorkerOptions(Topics.defaults(), "g", "w", p, p, 5, 0.01, 16, 1,
                Duration.ZERO, Duration.ofSeconds(1))).hasMessageContaining("positive");
    }
}
