package dev.graft.common.contract;

import java.util.Objects;

/**
 * One bottleneck vector with the identity of the image it came from. A feature batch on the
 * features topic is a list of these, encoded as one Arrow IPC stream (see docs/contracts.md).
 *
 * @param label null for unlabelled images
 * @param source where the image record was read: "topic-partition@offset", for lineage
 */
public record FeatureRow(String imageId, String task, String label, Split split, String baseId,
                         float[] vector, String source) {
    public FeatureRow {
        Objects.requireNonNull(imageId, "imageId");
        Objects.requireNonNull(task, "task");
        Objects.requireNonNull(split, "split");
        Objects.requireNonNull(baseId, "baseId");
        Objects.requireNonNull(vector, "vector");
    }
}
