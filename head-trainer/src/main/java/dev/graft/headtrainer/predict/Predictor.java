package dev.graft.headtrainer.predict;

import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Prediction;
import dev.graft.common.serving.HeadArtifact;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The pure part of the predict worker: feature rows in, predictions out, no Kafka. Of a batch's rows it
 * predicts those of its task that are unlabelled (every row of the task with {@code allRows}) and were
 * computed by the version's base; the others are counted, not predicted.
 */
public final class Predictor {
    private final String task;
    private final boolean allRows;

    /** What one batch gave: the predictions, and the rows of the task left out and why. */
    public record Result(List<Prediction> predictions, int labelledSkipped, int otherBaseSkipped) {}

    public Predictor(String task, boolean allRows) {
        this.task = Objects.requireNonNull(task, "task");
        this.allRows = allRows;
    }

    /**
     * Predicts with {@code head}, which is {@code version}; IllegalArgumentException if a row of the version's
     * base has a vector of another length than the head's input (a broken batch).
     */
    public Result predict(List<FeatureRow> rows, ModelUpdateEvent version, HeadArtifact head, Instant now) {
        String baseId = version.base().id();
        List<FeatureRow> wanted = new ArrayList<>();
        int labelled = 0;
        int otherBase = 0;
        for (FeatureRow row : rows) {
            if (!task.equals(row.task())) {
                continue;
            }
            if (row.label() != null && !allRows) {
                labelled++;
            } else if (!baseId.equals(row.baseId())) {
                otherBase++;
            } else {
                if (row.vector().length != head.inputDim()) {
                    throw new IllegalArgumentException("row " + row.imageId() + " of base " + baseId + " has "
                            + row.vector().length + " features, the head of v" + version.version() + " takes " + head.inputDim());
                }
                wanted.add(row);
            }
        }
        if (wanted.isEmpty()) {
            return new Result(List.of(), labelled, otherBase);
        }
        float[][] x = new float[wanted.size()][];
        for (int i = 0; i < x.length; i++) {
            x[i] = wanted.get(i).vector();
        }
        INDArray probs = head.predict(Nd4j.create(x).castTo(DataType.FLOAT));
        float[][] p = probs.toFloatMatrix();
        List<String> labels = head.labels();
        List<Prediction> out = new ArrayList<>(x.length);
        for (int i = 0; i < p.length; i++) {
            Map<String, Double> byLabel = new LinkedHashMap<>();
            int best = 0;
            for (int k = 0; k < p[i].length; k++) {
                byLabel.put(labels.get(k), (double) p[i][k]);
                best = p[i][k] > p[i][best] ? k : best;
            }
            FeatureRow row = wanted.get(i);
            out.add(new Prediction(row.imageId(), task, version.version(), labels.get(best), byLabel, row.baseId(), now));
        }
        return new Result(out, labelled, otherBase);
    }
}
