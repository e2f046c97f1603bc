package dev.graft.common.contract;

import java.util.Map;

/**
 * Topic names and the configuration Graft creates them with. Every name can be prefixed
 * (e.g. per environment) through {@link #withPrefix(String)}; the default prefix is {@code graft.}.
 */
public record Topics(String images, String features, String modelUpdates, String modelArtifacts,
                     String retrainRequests, String deadLetters, String predictions) {

    public static final String DEFAULT_PREFIX = "graft.";
    /** Largest record Graft writes (Arrow feature batches, artifact chunks are far below this). */
    public static final int MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
    /** Size of one chunk of a model artifact on the artifacts topic. */
    public static final int ARTIFACT_CHUNK_BYTES = 512 * 1024;

    public static Topics defaults() {
        return withPrefix(DEFAULT_PREFIX);
    }

    public static Topics withPrefix(String prefix) {
        return new Topics(prefix + "images", prefix + "features", prefix + "model-updates",
                prefix + "model-artifacts", prefix + "retrain-requests", prefix + "dead-letters", prefix + "predictions");
    }

    /** Per-topic configuration used when Graft creates the topic. */
    public Map<String, String> configFor(String topic) {
        if (topic.equals(modelUpdates) || topic.equals(modelArtifacts)) {
            // Versions and their artifacts are the system's history: never delete them by age.
            return Map.of("max.message.bytes", String.valueOf(MAX_MESSAGE_BYTES),
                    "retention.ms", "-1", "cleanup.policy", "delete");
        }
        if (topic.equals(images) || topic.equals(features)) {
            // The image log and the feature cache are replayed on restart and re-featurization.
            return Map.of("max.message.bytes", String.valueOf(MAX_MESSAGE_BYTES), "retention.ms", "-1",
                    "compression.type", "producer");
        }
        return Map.of("max.message.bytes", String.valueOf(MAX_MESSAGE_BYTES));
    }

    public java.util.List<String> all() {
        return java.util.List.of(images, features, modelUpdates, modelArtifacts, retrainRequests, deadLetters, predictions);
    }
}
