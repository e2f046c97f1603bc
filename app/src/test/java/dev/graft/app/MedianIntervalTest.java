package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MedianIntervalTest {

    @Test
    void nineRoundsGiveSecondLowestToSecondHighestAt96Percent() {
        MedianInterval ci = MedianInterval.of(List.of(0.95, 0.80, 1.02, 0.91, 0.88, 0.99, 0.93, 0.70, 0.97), 0.90);
        assertThat(ci.low()).isEqualTo(0.80);
        assertThat(ci.high()).isEqualTo(0.99);
        // 1 - 2 (C(9,0) + C(9,1)) / 2^9 = 1 - 20/512
        assertThat(ci.coverage()).isCloseTo(1 - 20.0 / 512, offset(1e-12));
    }

    @Test
    void tooFewRoundsForTheLevelGiveTheFullRangeWithItsLowerCoverage() {
        MedianInterval three = MedianInterval.of(List.of(1.3, 0.9, 0.92), 0.90);
        assertThat(three.low()).isEqualTo(0.9);
        assertThat(three.high()).isEqualTo(1.3);
        assertThat(three.coverage()).isCloseTo(0.75, offset(1e-12));
        MedianInterval one = MedianInterval.of(List.of(0.5), 0.90);
        assertThat(one.low()).isEqualTo(0.5);
        assertThat(one.high()).isEqualTo(0.5);
        assertThat(one.coverage()).as("one value says nothing about where the median is").isZero();
    }

    @Test
    void fifteenRoundsNarrowToTheFourthOrderStatistic() {
        // coverage(15, 4) = 1 - 2 (1 + 15 + 105 + 455) / 32768 = 0.9648; coverage(15, 5) = 0.8815 < 0.9
        assertThat(MedianInterval.coverage(15, 4)).isCloseTo(1 - 2 * 576.0 / 32768, offset(1e-12));
        assertThat(MedianInterval.coverage(15, 5)).isLessThan(0.90);
        List<Double> v = new ArrayList<>();
        for (int i = 15; i >= 1; i--) v.add((double) i);
        MedianInterval ci = MedianInterval.of(v, 0.90);
        assertThat(ci.low()).isEqualTo(4.0);
        assertThat(ci.high()).isEqualTo(12.0);
    }

    @Test
    void coverageHoldsOnASkewedDistribution() {
        // Exponential(1) has median ln 2; rounds of a slowed machine are skewed like this, not normal.
        Random random = new Random(42);
        int trials = 20_000, covered = 0;
        for (int t = 0; t < trials; t++) {
            List<Double> v = new ArrayList<>();
            for (int i = 0; i < 9; i++) v.add(-Math.log(1 - random.nextDouble()));
            MedianInterval ci = MedianInterval.of(v, 0.90);
            if (ci.low() <= Math.log(2) && Math.log(2) <= ci.high()) covered++;
        }
        // expected 0.961; the binomial standard error over 20,000 trials is 0.0014
        assertThat(covered / (double) trials).isBetween(0.955, 0.967);
    }

    @Test
    void badArgumentsAreRefused() {
        assertThatThrownBy(() -> MedianInterval.of(List.of(), 0.9)).hasMessageContaining("no values");
        assertThatThrownBy(() -> MedianInterval.of(List.of(1.0), 1.0)).hasMessageContaining("level");
        assertThatThrownBy(() -> MedianInterval.coverage(9, 6)).hasMessageContaining("k must be in 1..5");
    }
}
