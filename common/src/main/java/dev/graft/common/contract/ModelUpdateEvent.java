package dev.graft.common.contract;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A model-update event on the model-updates topic (JSON, key = task). Two types, told apart by
 * {@link #type()}:
 * <ul>
 *   <li>{@value #VERSION_PUBLISHED}: a new version. Versions are immutable and numbered per task from 1.
 *       The artifact is committed (in the same transaction, before this event) so a consumer that sees
 *       the event can always fetch it. {@code alias} and {@code reason} are absent.</li>
 *   <li>{@value #ALIAS_SET}: the task's alias {@code alias} ({@value #LATEST} or {@value #SERVING}) now
 *       names {@code version}, for {@code reason} ({@value #REASON_PUBLISHED}, {@value #REASON_PROMOTED},
 *       {@value #REASON_MANUAL} or {@value #REASON_ROLLBACK}). Only type, task, version, createdAt, alias
 *       and reason are set.</li>
 *   <li>{@value #BASE_PUBLISHED}: a fine-tuned base version (see docs/contracts.md).</li>
 *   <li>{@value #RETRAIN_REJECTED}: a refused retrain request, with its {@code reason}.</li>
 * </ul>
 * Events of one task share a partition (key = task), so their log order is their order.
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
        ArtifactRef artifact,
        @JsonInclude(JsonInclude.Include.NON_NULL) String alias,
        @JsonInclude(JsonInclude.Include.NON_NULL) String reason) {

    public static final String VERSION_PUBLISHED = "version-published";
    public static final String ALIAS_SET = "alias-set";
    /**
     * A fine-tuned base version of the task ({@code version} = base version, numbered apart from head
     * versions; {@code base.spec} = {@code graft-base:TASK/bVERSION}; artifact format {@code graft-base-zip-v1}).
     */
    public static final String BASE_PUBLISHED = "base-published";
    /**
     * A retrain request that was refused: {@code reason} says why, {@code lineage.hyperParameters.requestId}
     * names the request. Version 0, no artifact.
     */
    public static final String RETRAIN_REJECTED = "retrain-rejected";
    /** Alias of the newest published version. */
    public static final String LATEST = "latest";
    /** Alias of the version applications should use. */
    public static final String SERVING = "serving";
    public static final String REASON_PUBLISHED = "published";
    public static final String REASON_PROMOTED = "promoted";
    public static final String REASON_MANUAL = "manual";
    public static final String REASON_ROLLBACK = "rollback";

    /** A version-published event (no alias fields). */
    public ModelUpdateEvent(String type, String task, int version, Instant createdAt, BaseRef base, List<String> labels,
                            Metrics metrics, Lineage lineage, ArtifactRef artifact) {
        this(type, task, version, createdAt, base, labels, metrics, lineage, artifact, null, null);
    }

    /** An alias-set event. */
    public static ModelUpdateEvent aliasSet(String task, String alias, int version, String reason, Instant at) {
        return new ModelUpdateEvent(ALIAS_SET, task, version, at, null, null, null, null, null, alias, reason);
    }

    public boolean publishesVersion() {
        return VERSION_PUBLISHED.equals(type);
    }

    public boolean publishesBase() {
        return BASE_PUBLISHED.equals(type);
    }

    public boolean rejectsRetrain() {
        return RETRAIN_REJECTED.equals(type);
    }

    /** A retrain-rejected event for request {@code requestId} of {@code task}. */
    public static ModelUpdateEvent retrainRejected(String task, String requestId, String reason, Instant at) {
        Map<String, Object> hp = new java.util.LinkedHashMap<>();
        hp.put("requestId", requestId);
        return new ModelUpdateEvent(RETRAIN_REJECTED, task, 0, at, null, null, null,
                new Lineage(null, hp, null, null), null, null, reason);
    }

    public boolean setsAlias() {
        return ALIAS_SET.equals(type);
    }

    /** Validation metrics of a version. */
    public record Metrics(double validationAccuracy, double validationLoss, int validationCount, int trainCount,
                          Map<String, Double> perClassAccuracy, int[][] confusionMatrix) {}

    /**
     * What the version was trained on and how.
     *
     * @param featureOffsets features topic partition -> next offset consumed when training started
     * @param candidates when the head trainer trained one head per candidate base (several cuts, or a
     *                   fine-tuned base next to its parent) in this round: every candidate's base id -> its cut
     *                   and validation accuracy, the winner (this event's {@code base}) included; absent (null,
     *                   not written) for a round with a single base and in events written before this field
     */
    public record Lineage(Map<Integer, Long> featureOffsets, Map<String, Object> hyperParameters,
                          String headArchitecture, Integer parentVersion,
                          @JsonInclude(JsonInclude.Include.NON_NULL) Map<String, Candidate> candidates) {

        /** A lineage without candidates (a round with one base). */
        public Lineage(Map<Integer, Long> featureOffsets, Map<String, Object> hyperParameters,
                       String headArchitecture, Integer parentVersion) {
            this(featureOffsets, hyperParameters, headArchitecture, parentVersion, null);
        }
    }

    /**
     * One candidate base of a training round: the head trained on its features scored this on its
     * validation rows.
     *
     * @param spec the base's spec ({@link BaseRef#spec()}), which tells a fine-tuned base from its parent
     *             when both are cut at the same layer
     * @param validationCount validation rows it was scored on
     */
    public record Candidate(String cut, String spec, double validationAccuracy, int validationCount) {}

    /**
     * Where the artifact is and how to check it.
     *
     * @param uri {@code kafka://TOPIC/PARTITION/OFFSET?chunks=N} or {@code file:///...}
     * @param format e.g. {@code dl4j-multilayer-zip}
     */
    public record ArtifactRef(String uri, String sha256, long sizeBytes, String format) {}
}
