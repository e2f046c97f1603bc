package dev.graft.finetune;

import dev.graft.common.contract.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Immutable, validated settings of one fine-tune worker, and the limits a retrain request must respect (a request
 * outside them is rejected with a {@code retrain-rejected} event, not run).
 *
 * @param groupId consumer group on the retrain-requests topic (a task's requests share a partition, so one worker
 *                handles a task's requests one at a time)
 * @param workerId stable id; the transactional id derives from it, so a restarted worker fences its predecessor
 * @param basesDir cache of published bases ({@code $GRAFT_HOME/bases})
 * @param modelCacheDir cache of imported models ({@code $GRAFT_HOME/models})
 * @param maxEpochs largest accepted {@code epochs}
 * @param maxLearningRate largest accepted learning rate (fine-tuning wants a low one)
 * @param maxBatchSize largest accepted batch size
 * @param seed seed of the image order and augmentation draws
 */
public record FineTuneWorkerOptions(Topics topics, String groupId, String workerId, Path basesDir, Path modelCacheDir,
                                    int maxEpochs, double maxLearningRate, int maxBatchSize, long seed,
                                    Duration shutdownTimeout, Duration retryBackoff) {
    public static final String DEFAULT_GROUP = "graft-fine-tune-workers";
    public static final int DEFAULT_MAX_EPOCHS = 50;
    public static final double DEFAULT_MAX_LEARNING_RATE = 0.01;
    public static final int DEFAULT_MAX_BATCH_SIZE = 256;

    public FineTuneWorkerOptions {
        Objects.requireNonNull(topics, "topics");
        Objects.requireNonNull(basesDir, "basesDir");
        Objects.requireNonNull(modelCacheDir, "modelCacheDir");
        if (groupId == null || groupId.isBlank()) throw new IllegalArgumentException("groupId must not be blank");
        if (workerId == null || workerId.isBlank()) throw new IllegalArgumentException("workerId must not be blank");
        if (maxEpochs < 1) throw new IllegalArgumentException("maxEpochs must be >= 1, got " + maxEpochs);
        if (!(maxLearningRate > 0) || maxLearningRate > 1) {
            throw new IllegalArgumentException("maxLearningRate must be in (0, 1], got " + maxLearningRate);
        }
        if (maxBatchSize < 1) throw new IllegalArgumentException("maxBatchSize must be >= 1, got " + maxBatchSize);
        for (Duration d : new Duration[] {shutdownTimeout, retryBackoff}) {
            if (d == null || d.isNegative() || d.isZero()) throw new IllegalArgumentException("durations must be positive, got " + d);
        }
    }

    public static FineTuneWorkerOptions defaults(Topics topics, String workerId, Path basesDir, Path modelCacheDir) {
        return new FineTuneWorkerOptions(topics, DEFAULT_GROUP, workerId, basesDir, modelCacheDir, DEFAULT_MAX_EPOCHS,
                DEFAULT_MAX_LEARNING_RATE, DEFAULT_MAX_BATCH_SIZE, 42L, Duration.ofSeconds(30), Duration.ofSeconds(1));
    }

    public FineTuneWorkerOptions withGroupId(String g) {
        return new FineTuneWorkerOptions(topics, g, workerId, basesDir, modelCacheDir, maxEpochs, maxLearningRate,
                maxBatchSize, seed, shutdownTimeout, retryBackoff);
    }

    public String transactionalId() {
        return "graft-fine-tune-worker-" + workerId;
    }
}
