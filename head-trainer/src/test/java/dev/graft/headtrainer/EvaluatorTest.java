package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.graft.common.contract.ModelUpdateEvent;
import java.util.List;
import org.junit.jupiter.api.Test;

class EvaluatorTest {

    @Test
    void matchesHandComputedConfusionMatrix() {
        List<String> labels = List.of("a", "b", "c");
        float[][] probs = {
                {0.7f, 0.2f, 0.1f}, // true a, pred a
                {0.1f, 0.6f, 0.3f}, // true a, pred b
                {0.2f, 0.5f, 0.3f}, // true b, pred b
                {0.1f, 0.1f, 0.8f}, // true b, pred c
                {0.3f, 0.3f, 0.4f}, // true c, pred c
                {0.5f, 0.25f, 0.25f}, // true c, pred a
        };
        int[] truth = {0, 0, 1, 1, 2, 2};
        Evaluator.Result r = Evaluator.fromProbabilities(probs, truth, labels);

        assertThat(r.confusion()).isEqualTo(new int[][] {{1, 1, 0}, {0, 1, 1}, {1, 0, 1}});
        assertThat(r.count()).isEqualTo(6);
        assertThat(r.accuracy()).isEqualTo(0.5);
        assertThat(r.perClassAccuracy()).containsExactly(
                java.util.Map.entry("a", 0.5), java.util.Map.entry("b", 0.5), java.util.Map.entry("c", 0.5));
        double loss = -(Math.log(0.7f) + Math.log(0.1f) + Math.log(0.5f) + Math.log(0.1f) + Math.log(0.4f)
                + Math.log(0.25f)) / 6;
        assertThat(r.meanLoss()).isCloseTo(loss, within(1e-12));
        assertThat(r.accuracyOn(List.of("a", "b"))).isEqualTo(0.5);

        ModelUpdateEvent.Metrics m = r.toMetrics(123);
        assertThat(m.validationAccuracy()).isEqualTo(0.5);
        assertThat(m.validationCount()).isEqualTo(6);
        assertThat(m.trainCount()).isEqualTo(123);
        assertThat(m.confusionMatrix()).isEqualTo(r.confusion());
    }

    @Test
    void headWithFewerLabelsThanTheStoreNeverPredictsTheNewOnes() {
        List<String> labels = List.of("a", "b", "c");
        float[][] probs = {{0.9f, 0.1f}, {0.4f, 0.6f}, {0.2f, 0.8f}};
        Evaluator.Result r = Evaluator.fromProbabilities(probs, new int[] {0, 1, 2}, labels);
        assertThat(r.confusion()).isEqualTo(new int[][] {{1, 0, 0}, {0, 1, 0}, {0, 1, 0}});
        assertThat(r.perClassAccuracy()).containsEntry("c", 0.0);
        assertThat(r.meanLoss()).isCloseTo(
                (-Math.log(0.9f) - Math.log(0.6f) - Math.log(Evaluator.MIN_PROBABILITY)) / 3, within(1e-9));
    }

    @Test
    void emptySetAndMissingClasses() {
        Evaluator.Result r = Evaluator.fromProbabilities(new float[0][], new int[0], List.of("a", "b"));
        assertThat(r.count()).isZero();
        assertThat(r.accuracy()).isNaN();
        assertThat(r.perClassAccuracy()).isEmpty();
        Evaluator.Result one = Evaluator.fromProbabilities(new float[][] {{0.2f, 0.8f}}, new int[] {1}, List.of("a", "b"));
        assertThat(one.perClassAccuracy()).containsOnlyKeys("b");
    }
}
