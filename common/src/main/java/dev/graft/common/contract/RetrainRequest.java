package dev.graft.common.contract;

import java.time.Instant;

/**
 * A request to fine-tune upper base layers for a task (JSON on the retrain-requests topic, key = task).
 *
 * @param unfreezeFrom a layer name, or {@code last N blocks}
 * @param augmentation e.g. {@code flip,crop}; empty for none
 */
public record RetrainRequest(String requestId, String task, String unfreezeFrom, int epochs, double learningRate,
                             int batchSize, String augmentation, String reason, Instant requestedAt) {}
