package dev.graft.headtrainer;

import dev.graft.common.contract.Topics;
import java.time.Duration;
import java.util.Objects;

/**
 * Immutable, validated settings of the head trainer of one task.
 *
 * @param baseId train only on features of this base; null = the base of the task's latest version,
 *               or else the first base seen for the task
 */
public record HeadTrainerOptions(Topics topics, String task, String baseId, HeadConfig head,
                                 TrainingPolicy.Settings policy, Duration retryBackoff) {
    public HeadTrainerOptions {
        Objects.requireNonNull(topics, "topics");
        Objects.requireNonNull(head, "head");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(retryBackoff, "retryBackoff");
        if (task == null || task.isBlank()) {
            throw new IllegalArgumentException("task must not be blank");
        }
    }

    public static HeadTrainerOptions defaults(Topics topics, String task) {
        return new HeadTrainerOptions(topics, task, null, HeadConfig.defaults(), TrainingPolicy.Settings.defaults(),
                Duration.ofSeconds(2));
    }

    public HeadTrainerOptions withPolicy(TrainingPolicy.Settings p) {
        return new HeadTrainerOptions(topics, task, baseId, head, p, retryBackoff);
    }

    public HeadTrainerOptions withHead(HeadConfig h) {
        return new HeadTrainerOptions(topics, task, baseId, h, policy, retryBackoff);
    }

    /** One trainer per task: a second one with the same id fences the first. */
    public String transactionalId() {
        return "graft-head-trainer-" + task;
    }
}
