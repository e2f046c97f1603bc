package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.RetrainRequest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The head trainer's plateau policy: one retrain request per plateau, never while heads still improve, off by default. */
class RetrainTriggerTest {
    static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");

    static ModelUpdateEvent version(int v, double accuracy) {
        return new ModelUpdateEvent(ModelUpdateEvent.VERSION_PUBLISHED, "t", v, NOW, null, List.of("a", "b"),
                new ModelUpdateEvent.Metrics(accuracy, 0.5, 100, 1000, Map.of(), null), null, null);
    }

    /** Feeds versions with these accuracies one by one; returns the versions a request went out with. */
    static List<Integer> run(RetrainTrigger trigger, double... accuracies) {
        List<ModelUpdateEvent> published = new ArrayList<>();
        List<Integer> requested = new ArrayList<>();
        for (double a : accuracies) {
            ModelUpdateEvent v = version(published.size() + 1, a);
            Optional<RetrainRequest> r = trigger.requestFor("t", List.copyOf(published), v, NOW);
            r.ifPresent(x -> requested.add(v.version()));
            trigger.committed(r.isPresent());
            published.add(v);
        }
        return requested;
    }

    @Test
    void offByDefaultNeverRequests() {
        assertThat(run(new RetrainTrigger(RetrainTrigger.Settings.OFF), 0.8, 0.8, 0.8, 0.8, 0.8, 0.8)).isEmpty();
        assertThat(HeadTrainerOptions.defaults(dev.graft.common.contract.Topics.defaults(), "t").autoRetrain().on()).isFalse();
    }

    @Test
    void improvingHeadsNeverRequest() {
        assertThat(run(new RetrainTrigger(RetrainTrigger.Settings.after(2)), 0.70, 0.72, 0.74, 0.76, 0.78)).isEmpty();
    }

    @Test
    void onePlateauMakesOneRequestNotOnePerVersion() {
        // v3 and v4 do not beat v2's 0.80: plateau of 2 at v4; the next request needs 2 more versions (v6)
        assertThat(run(new RetrainTrigger(RetrainTrigger.Settings.after(2)), 0.70, 0.80, 0.79, 0.80, 0.78, 0.79))
                .containsExactly(4, 6);
    }

    @Test
    void theRequestCarriesTheTemplateTaskAndReason() {
        RetrainTrigger trigger = new RetrainTrigger(RetrainTrigger.Settings.after(1));
        Optional<RetrainRequest> r = trigger.requestFor("fashion", List.of(version(1, 0.9)), version(2, 0.85), NOW);
        assertThat(r).isPresent();
        assertThat(r.get().task()).isEqualTo("fashion");
        assertThat(r.get().unfreezeFrom()).isEqualTo("last 2 blocks");
        assertThat(r.get().requestId()).isNotBlank();
        assertThat(r.get().reason()).contains("not improved", "0.8500", "0.9000");
        assertThat(r.get().requestedAt()).isEqualTo(NOW);
    }

    @Test
    void minImprovementCountsTinyGainsAsPlateau() {
        RetrainTrigger.Settings s = new RetrainTrigger.Settings(1, 0.01, RetrainTrigger.Settings.after(1).template());
        assertThat(run(new RetrainTrigger(s), 0.80, 0.805)).containsExactly(2);
    }

    @Test
    void badSettingsAreRejected() {
        assertThatThrownBy(() -> new RetrainTrigger.Settings(-1, 0, null)).hasMessageContaining("plateauVersions");
        assertThatThrownBy(() -> new RetrainTrigger.Settings(2, 0, null)).hasMessageContaining("template");
    }
}
