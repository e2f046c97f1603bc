package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Prediction;
import dev.graft.common.contract.Split;
import dev.graft.common.json.Json;
import dev.graft.common.serving.HeadArtifact;
import dev.graft.headtrainer.predict.Predictor;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The predict worker's pure part on a real trained head (synthetic blobs), without a broker. */
class PredictorTest {
    static final int DIM = 16;
    static final int K = 3;
    static final String BASE = "synthetic-" + DIM;
    static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
    static HeadArtifact head;
    static ModelUpdateEvent version;

    @BeforeAll
    static void trainHead() {
        VectorStore store = new VectorStore("t", BASE, DIM);
        Blobs.fill(store, new Random(1), 0, K, K, 200, Split.TRAIN, "x");
        TrainedHead trained = new HeadTrainer().train(HeadConfig.defaults().withHiddenUnits(0).withEpochs(30), store, Optional.empty());
        head = HeadArtifact.read(trained.toBytes());
        version = new ModelUpdateEvent(ModelUpdateEvent.VERSION_PUBLISHED, "t", 7, NOW,
                new BaseRef(BASE, "synthetic", "none", 0, DIM, "none"), head.labels(), null, null, null);
    }

    private static FeatureRow row(String id, String task, String label, String base, int cls, Random r) {
        return new FeatureRow(id, task, label, Split.TEST, base, Blobs.vector(r, cls, K, DIM, 3.0, DIM / 10), "t-0@0");
    }

    @Test
    void predictsUnlabelledRowsOfTheTaskAndTheVersionsBase() {
        Random r = new Random(2);
        List<FeatureRow> rows = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            rows.add(row("u" + i, "t", null, BASE, i % K, r));
        }
        rows.add(row("labelled", "t", "c1", BASE, 1, r));
        rows.add(row("other-task", "other", null, BASE, 1, r));
        rows.add(row("other-base", "t", null, "another-base", 1, r));
        Predictor.Result result = new Predictor("t", false).predict(rows, version, head, NOW);

        assertThat(result.predictions()).extracting(Prediction::imageId)
                .containsExactlyElementsOf(rows.subList(0, 30).stream().map(FeatureRow::imageId).toList());
        assertThat(result.labelledSkipped()).isEqualTo(1);
        assertThat(result.otherBaseSkipped()).isEqualTo(1);
        long right = 0;
        for (int i = 0; i < 30; i++) {
            Prediction p = result.predictions().get(i);
            assertThat(p.version()).isEqualTo(7);
            assertThat(p.task()).isEqualTo("t");
            assertThat(p.baseId()).isEqualTo(BASE);
            assertThat(p.createdAt()).isEqualTo(NOW);
            assertThat(p.probabilities().keySet()).containsExactlyElementsOf(head.labels());
            assertThat(p.probabilities().values().stream().mapToDouble(Double::doubleValue).sum()).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
            double max = p.probabilities().values().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
            assertThat(p.probabilities().get(p.label())).isEqualTo(max);
            right += p.label().equals("c" + (i % K)) ? 1 : 0;
        }
        assertThat(right).as("separable blobs are classified").isGreaterThanOrEqualTo(27);
    }

    @Test
    void allRowsAlsoPredictsLabelledOnes() {
        Random r = new Random(3);
        List<FeatureRow> rows = List.of(row("a", "t", "c0", BASE, 0, r), row("b", "t", null, BASE, 2, r));
        Predictor.Result result = new Predictor("t", true).predict(rows, version, head, NOW);
        assertThat(result.predictions()).extracting(Prediction::imageId).containsExactly("a", "b");
        assertThat(result.labelledSkipped()).isZero();
    }

    @Test
    void aRowOfTheRightBaseWithTheWrongWidthIsRejectedNotPredicted() {
        FeatureRow bad = new FeatureRow("bad", "t", null, Split.TEST, BASE, new float[DIM + 1], "t-0@0");
        assertThatThrownBy(() -> new Predictor("t", false).predict(List.of(bad), version, head, NOW))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("17 features");
    }

    @Test
    void predictionJsonHasTheContractFields() throws Exception {
        Prediction p = new Prediction("img-1", "t", 3, "c1", new java.util.LinkedHashMap<>(Map.of("c1", 0.75)), BASE, NOW);
        var json = Json.mapper().readTree(Json.toBytes(p));
        assertThat(json.fieldNames()).toIterable()
                .containsExactlyInAnyOrder("imageId", "task", "version", "label", "probabilities", "baseId", "createdAt");
        assertThat(json.get("createdAt").asText()).isEqualTo("2026-01-01T00:00:00Z");
        assertThat(Json.fromBytes(Json.toBytes(p), Prediction.class)).isEqualTo(p);
    }
}
