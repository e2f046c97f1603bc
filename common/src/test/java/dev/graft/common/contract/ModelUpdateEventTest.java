package dev.graft.common.contract;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.json.Json;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelUpdateEventTest {

    private static ModelUpdateEvent event(Map<String, ModelUpdateEvent.Candidate> candidates) {
        return new ModelUpdateEvent(ModelUpdateEvent.VERSION_PUBLISHED, "t", 2, Instant.parse("2025-05-01T12:00:00Z"),
                new BaseRef("b1", "nsfwjs:mobilenet_v2", "block_12_add", 96, 96, "unit"), List.of("a", "b"),
                new ModelUpdateEvent.Metrics(0.9, 0.3, 10, 40, Map.of("a", 1.0, "b", 0.8), new int[][] {{5, 0}, {1, 4}}),
                new ModelUpdateEvent.Lineage(Map.of(0, 12L), Map.of("epochs", 20), "softmax", 1, candidates),
                new ModelUpdateEvent.ArtifactRef("kafka://x/0/1?chunks=1", "00", 1, "graft-head-zip-v1"));
    }

    @Test
    void candidatesRoundTripAndNameEveryBase() {
        var candidates = Map.of(
                "b1", new ModelUpdateEvent.Candidate("block_12_add", "nsfwjs:mobilenet_v2", 0.9, 10),
                "b2", new ModelUpdateEvent.Candidate("block_1_project_BN", "nsfwjs:mobilenet_v2", 0.6, 10));
        ModelUpdateEvent back = Json.fromBytes(Json.toBytes(event(candidates)), ModelUpdateEvent.class);
        assertThat(back.lineage().candidates()).isEqualTo(candidates);
    }

    @Test
    void singleBaseEventWritesNoCandidatesField() {
        String json = new String(Json.toBytes(event(null)), StandardCharsets.UTF_8);
        assertThat(json).doesNotContain("candidates");
    }

    @Test
    void eventWrittenBeforeCandidatesExistedStillParses() {
        String old = "{\"type\":\"version-published\",\"task\":\"t\",\"version\":1,\"createdAt\":\"2025-05-01T12:00:00Z\","
                + "\"lineage\":{\"featureOffsets\":{\"0\":5},\"hyperParameters\":{},\"headArchitecture\":\"softmax\","
                + "\"parentVersion\":null}}";
        ModelUpdateEvent e = Json.fromBytes(old.getBytes(StandardCharsets.UTF_8), ModelUpdateEvent.class);
        assertThat(e.lineage().featureOffsets()).containsEntry(0, 5L);
        assertThat(e.lineage().candidates()).isNull();
    }
}
