package dev.graft.common.contract;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One prediction on the predictions topic (JSON, key = image id), written by {@code graft predict-worker}.
 *
 * @param version the task's head version that produced it (the {@code serving} version when it ran)
 * @param label the most probable label
 * @param probabilities every label of that version with its probability, in the head's output order
 * @param baseId the base id of the feature row it was computed from (= the version's base)
 */
public record Prediction(String imageId, String task, int version, String label, Map<String, Double> probabilities,
                         String baseId, Instant createdAt) {
    public Prediction {
        Objects.requireNonNull(imageId, "imageId");
        Objects.requireNonNull(task, "task");
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(probabilities, "probabilities");
        Objects.requireNonNull(baseId, "baseId");
        Objects.requireNonNull(createdAt, "createdAt");
    }
}
