package dev.graft.app;

import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.ModelUpdateEvent;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Model-update events for tests that need no Kafka. */
final class TestEvents {
    private TestEvents() {}

    static final List<String> LABELS = List.of("shirt", "shoe", "bag");

    static ModelUpdateEvent version(String task, int version, int trainCount, double accuracy, int[][] confusion) {
        BaseRef base = new BaseRef("mobilenet_v2-96-block_12_add-0123456789abcdef", "nsfwjs:mobilenet_v2", "block_12_add", 96, 96, "unit");
        return new ModelUpdateEvent(ModelUpdateEvent.VERSION_PUBLISHED, task, version, Instant.parse("2026-01-01T12:00:00Z").plusSeconds(60L * version),
                base, LABELS, new ModelUpdateEvent.Metrics(accuracy, 0.5, 300, trainCount, Map.of("shirt", accuracy), confusion),
                new ModelUpdateEvent.Lineage(Map.of(0, 10L * version), Map.of("epochs", 20), "dense(96->3, softmax)",
                        version > 1 ? version - 1 : null),
                new ModelUpdateEvent.ArtifactRef("kafka://graft.model-artifacts/0/" + version + "?chunks=1", "00", 1000, "graft-head-zip-v1"));
    }

    static List<ModelUpdateEvent> threeVersions(String task) {
        return List.of(
                version(task, 1, 1000, 0.71, new int[][] {{70, 20, 10}, {15, 80, 5}, {10, 10, 80}}),
                version(task, 2, 2000, 0.80, new int[][] {{80, 12, 8}, {10, 85, 5}, {8, 7, 85}}),
                version(task, 3, 3000, 0.86, new int[][] {{86, 9, 5}, {6, 90, 4}, {5, 6, 89}}));
    }

    /**
     * Three versions, the third from a fine-tuned base, with the serving history a task gets from promotions
     * of all three and then one rollback (serving ends at version 2).
     */
    static List<ModelUpdateEvent> historyWithFineTuneAndRollback(String task) {
        List<ModelUpdateEvent> v = threeVersions(task);
        ModelUpdateEvent third = v.get(2);
        ModelUpdateEvent fineTuned = new ModelUpdateEvent(third.type(), task, 3, third.createdAt(), third.base(), third.labels(),
                third.metrics(), new ModelUpdateEvent.Lineage(third.lineage().featureOffsets(),
                        Map.of("epochs", 1, "fineTuned", true), third.lineage().headArchitecture(), 2), third.artifact());
        Instant t = Instant.parse("2026-01-01T12:00:00Z");
        return List.of(
                v.get(0), ModelUpdateEvent.aliasSet(task, ModelUpdateEvent.SERVING, 1, ModelUpdateEvent.REASON_PROMOTED, t.plusSeconds(61)),
                v.get(1), ModelUpdateEvent.aliasSet(task, ModelUpdateEvent.SERVING, 2, ModelUpdateEvent.REASON_PROMOTED, t.plusSeconds(121)),
                fineTuned, ModelUpdateEvent.aliasSet(task, ModelUpdateEvent.SERVING, 3, ModelUpdateEvent.REASON_PROMOTED, t.plusSeconds(181)),
                ModelUpdateEvent.aliasSet(task, ModelUpdateEvent.SERVING, 2, ModelUpdateEvent.REASON_ROLLBACK, t.plusSeconds(200)));
    }
}
