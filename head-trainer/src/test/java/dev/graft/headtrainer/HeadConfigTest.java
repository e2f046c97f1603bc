package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class HeadConfigTest {

    @Test
    void defaults() {
        HeadConfig c = HeadConfig.defaults();
        assertThat(c.hiddenUnits()).isEqualTo(256);
        assertThat(c.standardize()).isFalse();
        assertThat(c.architecture()).isEqualTo("dense256-relu>dropout0.5>softmax");
        assertThat(c.withHiddenUnits(0).withDropout(0).architecture()).isEqualTo("softmax");
        assertThat(c.toMap()).containsEntry("optimizer", "adam").containsEntry("epochs", 20);
    }

    @Test
    void withersKeepOtherFields() {
        HeadConfig c = HeadConfig.defaults().withEpochs(3).withSeed(7).withStandardize(true);
        assertThat(c).isEqualTo(new HeadConfig(256, 0.5, 1e-3, 3, 64, 1e-4, 7, true));
        assertThat(c.sameArchitecture(c.withEpochs(9).withLearningRate(0.1))).isTrue();
        assertThat(c.sameArchitecture(c.withHiddenUnits(128))).isFalse();
        assertThat(c.sameArchitecture(c.withStandardize(false))).isFalse();
    }

    @Test
    void rejectsInvalidValues() {
        HeadConfig c = HeadConfig.defaults();
        assertThatThrownBy(() -> c.withHiddenUnits(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("hiddenUnits");
        assertThatThrownBy(() -> c.withDropout(1.0)).hasMessageContaining("dropout");
        assertThatThrownBy(() -> c.withDropout(-0.1)).hasMessageContaining("dropout");
        assertThatThrownBy(() -> c.withLearningRate(0)).hasMessageContaining("learningRate");
        assertThatThrownBy(() -> c.withLearningRate(Double.NaN)).hasMessageContaining("learningRate");
        assertThatThrownBy(() -> c.withEpochs(0)).hasMessageContaining("epochs");
        assertThatThrownBy(() -> c.withBatchSize(0)).hasMessageContaining("batchSize");
        assertThatThrownBy(() -> c.withL2(-1e-3)).hasMessageContaining("l2");
        assertThatThrownBy(() -> c.withL2(Double.POSITIVE_INFINITY)).hasMessageContaining("l2");
    }
}
