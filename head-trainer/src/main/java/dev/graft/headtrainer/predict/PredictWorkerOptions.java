package dev.graft.headtrainer.predict;

import dev.graft.common.contract.Topics;
import java.time.Duration;
import java.util.Objects;

/**
 * Immutable, validated settings of a predict worker.
 *
 * @param task the task whose {@code serving} version predicts
 * @param workerId stable id of this worker; its transactional id derives from it (a restart fences its predecessor)
 * @param allRows predict every feature row of the task, not only unlabelled ones
 * @param groupId consumer group of the task's predict workers (partitions of the features topic spread over them)
 */
public record PredictWorkerOptions(Topics topics, String task, String workerId, boolean allRows, String groupId,
                                   Duration retryBackoff, Duration shutdownTimeout) {
    public PredictWorkerOptions {
        Objects.requireNonNull(topics, "topics");
        requireText(task, "task");
        requireText(workerId, "workerId");
        requireText(groupId, "groupId");
        requirePositive(retryBackoff, "retryBackoff");
        requirePositive(shutdownTimeout, "shutdownTimeout");
    }

    /** Unlabelled rows only, group {@code graft-predict-TASK}. */
    public static PredictWorkerOptions defaults(Topics topics, String task, String workerId) {
        return new PredictWorkerOptions(topics, task, workerId, false, "graft-predict-" + task, Duration.ofSeconds(1),
                Duration.ofSeconds(30));
    }

    public PredictWorkerOptions withAllRows(boolean all) {
        return new PredictWorkerOptions(topics, task, workerId, all, groupId, retryBackoff, shutdownTimeout);
    }

    public String transactionalId() {
        return "graft-predict-" + task + "-" + workerId;
    }

    private static void requireText(String s, String name) {
        if (s == null || s.isBlank()) {
            throw new IllegalArgumentException(name + " must not be blank");
        }
    }

    private static void requirePositive(Duration d, String name) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be a positive duration, got " + d);
        }
    }
}
