package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class TrainingPolicyTest {

    private final MutableClock clock = new MutableClock(Instant.parse("2025-01-01T00:00:00Z"));
    private final TrainingPolicy policy =
            new TrainingPolicy(new TrainingPolicy.Settings(100, Duration.ofSeconds(30), 2, 10), clock);

    @Test
    void trainsWhenEnoughNewVectors() {
        assertThat(policy.check(0, 0, 0).train()).isFalse();
        assertThat(policy.check(99, 3, 99).train()).isFalse();
        assertThat(policy.check(100, 3, 100).train()).isTrue();
        policy.trained(100);
        assertThat(policy.lastTrainedAt()).isEqualTo(clock.instant());
        assertThat(policy.check(100, 3, 100)).extracting(TrainingPolicy.Decision::train).isEqualTo(false);
        assertThat(policy.check(199, 3, 199).train()).isFalse();
        assertThat(policy.check(200, 3, 200).train()).isTrue();
    }

    @Test
    void trainsAfterMaxWaitWithFewNewVectors() {
        policy.trained(50);
        clock.advance(Duration.ofHours(1)); // idle time does not count
        assertThat(policy.check(50, 3, 50).train()).isFalse();
        assertThat(policy.check(55, 3, 55).train()).isFalse(); // first sight of new vectors starts the wait
        clock.advance(Duration.ofSeconds(29));
        assertThat(policy.check(56, 3, 56).train()).isFalse();
        clock.advance(Duration.ofSeconds(1));
        TrainingPolicy.Decision d = policy.check(56, 3, 56);
        assertThat(d.train()).isTrue();
        assertThat(d.reason()).contains("waited");
        policy.trained(56);
        clock.advance(Duration.ofSeconds(31));
        assertThat(policy.check(56, 3, 56).train()).isFalse();
    }

    @Test
    void requiresTwoLabelsAndMinimumCount() {
        assertThat(policy.check(500, 1, 500).train()).isFalse();
        assertThat(policy.check(500, 1, 500).reason()).contains("labels");
        TrainingPolicy small = new TrainingPolicy(new TrainingPolicy.Settings(1, Duration.ZERO, 2, 10), clock);
        assertThat(small.check(9, 2, 9).train()).isFalse();
        assertThat(small.check(9, 2, 9).reason()).contains("train vectors < 10");
        assertThat(small.check(10, 2, 10).train()).isTrue();
    }

    @Test
    void validatesSettings() {
        assertThatThrownBy(() -> new TrainingPolicy.Settings(0, Duration.ZERO, 2, 1)).hasMessageContaining("minNewVectors");
        assertThatThrownBy(() -> new TrainingPolicy.Settings(1, Duration.ofSeconds(-1), 2, 1)).hasMessageContaining("maxWait");
        assertThatThrownBy(() -> new TrainingPolicy.Settings(1, Duration.ZERO, 1, 1)).hasMessageContaining("minLabels");
        assertThatThrownBy(() -> new TrainingPolicy.Settings(1, Duration.ZERO, 2, 0)).hasMessageContaining("minTrainCount");
    }
}
