package dev.graft.headtrainer;

import dev.graft.common.contract.Topics;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;

/**
 * Immutable, validated settings of the head trainer of one task.
 *
 * @param baseIds the candidate bases of the task: train a head on the features of each of these base ids
 *                (several cuts of one network, or a fine-tuned base next to its parent) and publish the best;
 *                empty = every base seen for the task is a candidate
 * @param promotionMargin a new version becomes {@code serving} automatically unless its validation
 *                        accuracy is more than this below the serving version's (in [0, 1]; 0 = must not
 *                        be worse; 1 = always promote)
 * @param autoRetrain publish a retrain request when heads stop improving ({@link RetrainTrigger}); off by default
 */
public record HeadTrainerOptions(Topics topics, String task, List<String> baseIds, HeadConfig head,
                                 TrainingPolicy.Settings policy, Duration retryBackoff, double promotionMargin,
                                 RetrainTrigger.Settings autoRetrain) {
    public static final double DEFAULT_PROMOTION_MARGIN = 0.01;

    public HeadTrainerOptions {
        if (!(promotionMargin >= 0 && promotionMargin <= 1)) {
            throw new IllegalArgumentException("promotionMargin must be in [0, 1]: " + promotionMargin);
        }
        Objects.requireNonNull(topics, "topics");
        Objects.requireNonNull(head, "head");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(retryBackoff, "retryBackoff");
        Objects.requireNonNull(autoRetrain, "autoRetrain (RetrainTrigger.Settings.OFF for none)");
        if (task == null || task.isBlank()) {
            throw new IllegalArgumentException("task must not be blank");
        }
        baseIds = List.copyOf(Objects.requireNonNull(baseIds, "baseIds"));
        for (String id : baseIds) {
            if (id.isBlank()) {
                throw new IllegalArgumentException("base ids must not be blank: " + baseIds);
            }
        }
        if (new HashSet<>(baseIds).size() != baseIds.size()) {
            throw new IllegalArgumentException("base ids repeated: " + baseIds);
        }
    }

    public static HeadTrainerOptions defaults(Topics topics, String task) {
        return new HeadTrainerOptions(topics, task, List.of(), HeadConfig.defaults(), TrainingPolicy.Settings.defaults(),
                Duration.ofSeconds(2), DEFAULT_PROMOTION_MARGIN, RetrainTrigger.Settings.OFF);
    }

    public HeadTrainerOptions withPolicy(TrainingPolicy.Settings p) {
        return new HeadTrainerOptions(topics, task, baseIds, head, p, retryBackoff, promotionMargin, autoRetrain);
    }

    public HeadTrainerOptions withHead(HeadConfig h) {
        return new HeadTrainerOptions(topics, task, baseIds, h, policy, retryBackoff, promotionMargin, autoRetrain);
    }

    /** Only these bases are candidates (empty = every base seen for the task). */
    public HeadTrainerOptions withBaseIds(List<String> ids) {
        return new HeadTrainerOptions(topics, task, ids, head, policy, retryBackoff, promotionMargin, autoRetrain);
    }

    /** The optional policy that publishes a retrain request when heads stop improving (off by default). */
    public HeadTrainerOptions withAutoRetrain(RetrainTrigger.Settings a) {
        return new HeadTrainerOptions(topics, task, baseIds, head, policy, retryBackoff, promotionMargin, a);
    }

    /** Whether features of {@code baseId} are a candidate of this task. */
    public boolean acceptsBase(String baseId) {
        return baseIds.isEmpty() || baseIds.contains(baseId);
    }

    public HeadTrainerOptions withPromotionMargin(double m) {
        return new HeadTrainerOptions(topics, task, baseIds, head, policy, retryBackoff, m, autoRetrain);
    }

    /**
     * Whether a new version with validation accuracy {@code candidate} replaces the serving one
     * ({@code serving} = its accuracy; NaN or absent = nothing serves yet: promote).
     */
    public boolean promotes(double candidate, java.util.OptionalDouble serving) {
        return serving.isEmpty() || Double.isNaN(serving.getAsDouble())
                || candidate >= serving.getAsDouble() - promotionMargin - 1e-12;
    }

    /** One trainer per task: a second one with the same id fences the first. */
    public String transactionalId() {
        return "graft-head-trainer-" + task;
    }
}
