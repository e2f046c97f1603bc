package dev.graft.common.contract;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A model-update event on the model-updates topic (JSON, key = task). Versions are immutable and
 * numbered per task from 1. The artifact is committed (in the same transaction, before this event)
 * so a consumer that sees the event can always fetch it.
 */
public record ModelUpdateEvent(
        String type,
        String task,
        int version,
        Instant createdAt,
        BaseRef base,
        List<String> labels,
        Metrics metrics,
        Lineage lineage,
        ArtifactRef artifact) {

    public static final String VERSION_PUBLISHED = "version-published";

    /** Validation metrics of a version. */
    public record Metrics(double validationAccuracy, double validationLoss, int validationCount, int trainCount,
                          Map<String, Double> perClassAccuracy, int[][] confusionMatrix) {}

    /**
     * What the version was trained on and how.
     *
     * @param featureOffsets features topic partition -> next offset consumed when training started
     */
    public record Lineage(Map<Integer, Long> featureOffsets, Map<String, Object> hyperParameters,
                          String headArchitecture, Integer parentVersion) {}

    /**
     * Where the artifact is and how to check it.
     *
     * @param uri {@code kafka://TOPIC/PARTITION/OFFSET?chunks=N} or {@code file:///...}
     * @param format e.g. {@code dl4j-multilayer-zip}
     */
    public record ArtifactRef(String uri, String sha256, long sizeBytes, String format) {}
}
