package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Split;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class CandidateRoundTest {
    static final HeadConfig CONFIG = HeadConfig.defaults().withHiddenUnits(0).withEpochs(30).withLearningRate(0.05);

    private static BaseRef base(String id, String cut, int dim) {
        return new BaseRef(id, "synthetic", cut, 0, dim, "none");
    }

    /** The same images on two bases: "good" separates the classes, "noise" carries no class signal. */
    private static VectorStore[] stores(int perClass) {
        Random r = new Random(3);
        VectorStore good = new VectorStore("t", "good", 20);
        VectorStore noise = new VectorStore("t", "noise", 20);
        for (Split split : List.of(Split.TRAIN, Split.VALIDATION)) {
            for (int i = 0; i < perClass; i++) {
                for (int c = 0; c < 3; c++) {
                    String id = split + "-" + c + "-" + i;
                    good.add(id, "c" + c, split, Blobs.vector(r, c, 3, 20, 3.0, 2));
                    noise.add(id, "c" + c, split, Blobs.vector(r, r.nextInt(3), 3, 20, 3.0, 2));
                }
            }
        }
        return new VectorStore[] {good, noise};
    }

    @Test
    void theBaseWhoseFeaturesSeparateTheClassesWinsAndEveryCandidateIsScored() {
        VectorStore[] s = stores(40);
        CandidateRound.Result result = CandidateRound.run(new HeadTrainer(), CONFIG, List.of(
                new CandidateRound.Entry(base("noise", "early", 20), s[1], Optional.empty()),
                new CandidateRound.Entry(base("good", "late", 20), s[0], Optional.empty())), "noise");
        System.out.println("CANDIDATES " + result.candidates());
        assertThat(result.winner().base().id()).isEqualTo("good");
        Map<String, ModelUpdateEvent.Candidate> c = result.candidates();
        assertThat(c).containsOnlyKeys("good", "noise");
        assertThat(c.get("good").cut()).isEqualTo("late");
        assertThat(c.get("good").validationAccuracy()).isGreaterThan(0.9);
        assertThat(c.get("noise").validationAccuracy()).isLessThan(0.6);
        assertThat(c.get("good").validationCount()).isEqualTo(120);
    }

    @Test
    void aSingleCandidateRecordsNoCandidates() {
        VectorStore[] s = stores(10);
        CandidateRound.Result result = CandidateRound.run(new HeadTrainer(), CONFIG,
                List.of(new CandidateRound.Entry(base("good", "late", 20), s[0], Optional.empty())), null);
        assertThat(result.winner().base().id()).isEqualTo("good");
        assertThat(result.candidates()).isNull();
    }

    @Test
    void aBaseStillBeingFeaturizedWaitsUntilItCoversTheOthersImages() {
        VectorStore full = stores(40)[0];
        VectorStore partial = new VectorStore("t", "partial", 20);
        Random r = new Random(5);
        for (int i = 0; i < 20; i++) {
            partial.add("x" + i, "c" + (i % 3), Split.TRAIN, Blobs.vector(r, i % 3, 3, 20, 3.0, 2));
        }
        partial.add("v", "c0", Split.VALIDATION, Blobs.vector(r, 0, 3, 20, 3.0, 2));
        assertThat(CandidateRound.eligible(List.of(full, partial), Function.identity(), 2, 10)).containsExactly(full);
        assertThat(CandidateRound.eligible(List.of(partial), Function.identity(), 2, 10)).containsExactly(partial);
        assertThat(CandidateRound.eligible(List.of(partial), Function.identity(), 2, 30)).isEmpty();
    }
}
