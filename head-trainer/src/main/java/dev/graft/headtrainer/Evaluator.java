package dev.graft.headtrainer;

import dev.graft.common.contract.ModelUpdateEvent;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Classification metrics of a head on labelled vectors (validation or test split).
 *
 * <p>The label space is the store's ({@code labelNames}); the head's labels must be a prefix of it
 * (a head trained before new labels appeared simply never predicts them, and their rows count as
 * errors). Per-class accuracy is the recall of each true class, keyed by label name, and only for
 * classes with at least one row. Loss is the mean of -ln p(true class), p clamped to
 * {@value #MIN_PROBABILITY} (as DL4J's MCXENT clamps). An empty set gives count 0 and NaN accuracy and loss.
 */
public final class Evaluator {

    public static final double MIN_PROBABILITY = 1e-10;

    private Evaluator() {}

    /**
     * @param confusion [k][k], rows = true label, columns = predicted label
     */
    public record Result(List<String> labels, int count, double accuracy, double meanLoss,
                         Map<String, Double> perClassAccuracy, int[][] confusion) {

        public ModelUpdateEvent.Metrics toMetrics(int trainCount) {
            int[][] copy = new int[confusion.length][];
            for (int i = 0; i < confusion.length; i++) {
                copy[i] = confusion[i].clone();
            }
            return new ModelUpdateEvent.Metrics(accuracy, meanLoss, count, trainCount, perClassAccuracy, copy);
        }

        /** Accuracy over rows whose true label is one of {@code classes} (argmax still over all classes). */
        public double accuracyOn(List<String> classes) {
            long correct = 0;
            long total = 0;
            for (String c : classes) {
                int i = labels.indexOf(c);
                if (i < 0) {
                    continue;
                }
                correct += confusion[i][i];
                for (int v : confusion[i]) {
                    total += v;
                }
            }
            return total == 0 ? Double.NaN : (double) correct / total;
        }
    }

    public static Result evaluate(TrainedHead head, VectorStore.SplitData data) {
        return evaluate(head, data.features(), data.labels(), data.labelNames());
    }

    public static Result evaluate(TrainedHead head, INDArray features, int[] trueLabels, List<String> labelNames) {
        List<String> headLabels = head.labels();
        if (headLabels.size() > labelNames.size() || !labelNames.subList(0, headLabels.size()).equals(headLabels)) {
            throw new IllegalArgumentException("head labels " + headLabels + " are not a prefix of " + labelNames);
        }
        if (trueLabels.length == 0) {
            return fromProbabilities(new float[0][], trueLabels, labelNames);
        }
        return fromProbabilities(head.predict(features).toFloatMatrix(), trueLabels, labelNames);
    }

    /**
     * Metrics from class probabilities {@code probs[n][kHead]} (kHead <= labelNames.size(); missing
     * trailing classes have probability 0). Predicted class = argmax, first index on ties.
     */
    public static Result fromProbabilities(float[][] probs, int[] trueLabels, List<String> labelNames) {
        int k = labelNames.size();
        int n = trueLabels.length;
        if (probs.length != n) {
            throw new IllegalArgumentException(probs.length + " probability rows for " + n + " labels");
        }
        int[][] confusion = new int[k][k];
        double lossSum = 0;
        int correct = 0;
        for (int i = 0; i < n; i++) {
            int t = trueLabels[i];
            if (t < 0 || t >= k) {
                throw new IllegalArgumentException("label index " + t + " outside [0, " + k + ")");
            }
            float[] p = probs[i];
            if (p.length > k) {
                throw new IllegalArgumentException("row has " + p.length + " probabilities for " + k + " labels");
            }
            int pred = 0;
            for (int j = 1; j < p.length; j++) {
                if (p[j] > p[pred]) {
                    pred = j;
                }
            }
            confusion[t][pred]++;
            if (pred == t) {
                correct++;
            }
            double pt = t < p.length ? p[t] : 0;
            lossSum += -Math.log(Math.max(pt, MIN_PROBABILITY));
        }
        Map<String, Double> perClass = new LinkedHashMap<>();
        for (int c = 0; c < k; c++) {
            int total = 0;
            for (int v : confusion[c]) {
                total += v;
            }
            if (total > 0) {
                perClass.put(labelNames.get(c), (double) confusion[c][c] / total);
            }
        }
        double accuracy = n == 0 ? Double.NaN : (double) correct / n;
        double loss = n == 0 ? Double.NaN : lossSum / n;
        return new Result(List.copyOf(labelNames), n, accuracy, loss, Collections.unmodifiableMap(perClass), confusion);
    }
}
