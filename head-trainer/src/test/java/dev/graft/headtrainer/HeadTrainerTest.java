package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.graft.common.contract.Split;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

class HeadTrainerTest {

    private static final HeadConfig FAST = HeadConfig.defaults().withHiddenUnits(32).withEpochs(6).withBatchSize(32)
            .withLearningRate(3e-3);
    private final HeadTrainer trainer = new HeadTrainer();

    private static VectorStore blobs(int from, int to, int k) {
        VectorStore s = new VectorStore("blobs", "synthetic", 40);
        Random r = new Random(1);
        Blobs.fill(s, r, from, to, k, 60, Split.TRAIN, "tr");
        Blobs.fill(s, r, from, to, k, 30, Split.VALIDATION, "va");
        return s;
    }

    @Test
    void learnsSeparableBlobs() {
        VectorStore store = blobs(0, 4, 4);
        for (HeadConfig c : List.of(FAST, FAST.withHiddenUnits(0).withDropout(0), FAST.withStandardize(true))) {
            TrainedHead head = trainer.train(c, store, Optional.empty());
            Evaluator.Result val = Evaluator.evaluate(head, store.validation());
            assertThat(val.accuracy()).as(c.architecture()).isGreaterThan(0.9);
            assertThat(head.info().warmStarted()).isFalse();
            assertThat(head.info().trainCount()).isEqualTo(240);
            assertThat(head.labels()).containsExactly("c0", "c1", "c2", "c3");
        }
    }

    @Test
    void sameSeedSameWeightsBitForBit() {
        VectorStore store = blobs(0, 3, 3);
        INDArray a = trainer.train(FAST, store, Optional.empty()).network().params();
        INDArray b = trainer.train(FAST, store, Optional.empty()).network().params();
        INDArray c = trainer.train(FAST.withSeed(7), store, Optional.empty()).network().params();
        assertThat(a.toFloatVector()).isEqualTo(b.toFloatVector());
        assertThat(a.toFloatVector()).isNotEqualTo(c.toFloatVector());
    }

    @Test
    void warmStartGrowsTheOutputLayerAndKeepsOldClassWeights() {
        VectorStore store = blobs(0, 3, 6);
        TrainedHead first = trainer.train(FAST, store, Optional.empty());
        double oldAccBefore = Evaluator.evaluate(first, store.validation()).accuracy();

        Random r = new Random(2);
        Blobs.fill(store, r, 3, 6, 6, 60, Split.TRAIN, "tr2");
        Blobs.fill(store, r, 3, 6, 6, 30, Split.VALIDATION, "va2");
        // one epoch at a tiny rate: the grown head must still carry the old classes' weights
        TrainedHead grown = trainer.train(FAST.withEpochs(1).withLearningRate(1e-6), store, Optional.of(first));
        assertThat(grown.info().warmStarted()).isTrue();
        assertThat(grown.info().parentLabelCount()).isEqualTo(3);
        assertThat(grown.labels()).containsExactly("c0", "c1", "c2", "c3", "c4", "c5");
        INDArray oldOut = first.network().getLayer(1).getParam("W");
        INDArray newOut = grown.network().getLayer(1).getParam("W");
        assertThat(newOut.shape()).containsExactly(32, 6);
        float maxDiff = newOut.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 3)).sub(oldOut).amaxNumber().floatValue();
        assertThat(maxDiff).isLessThan(1e-3f);

        TrainedHead trained = trainer.train(FAST, store, Optional.of(first));
        Evaluator.Result after = Evaluator.evaluate(trained, store.validation());
        assertThat(after.accuracyOn(List.of("c0", "c1", "c2"))).isGreaterThanOrEqualTo(oldAccBefore - 0.05);
        assertThat(after.accuracy()).isGreaterThan(0.9);
    }

    @Test
    void warmStartWithStandardisationPreservesTheFunctionUnderNewStatistics() {
        HeadConfig std = FAST.withStandardize(true).withDropout(0);
        VectorStore store = blobs(0, 3, 3);
        TrainedHead first = trainer.train(std, store, Optional.empty());
        // more data of the same classes shifts the statistics; lr ~ 0 so weights barely move
        Blobs.fill(store, new Random(3), 0, 3, 3, 200, Split.TRAIN, "more");
        TrainedHead second = trainer.train(std.withEpochs(1).withLearningRate(1e-9), store, Optional.of(first));
        assertThat(second.standardizer().orElseThrow()).isNotEqualTo(first.standardizer().orElseThrow());
        INDArray x = store.validation().features();
        INDArray p1 = first.predict(x);
        INDArray p2 = second.predict(x);
        assertThat(p1.sub(p2).amaxNumber().doubleValue()).isLessThan(1e-4);
    }

    @Test
    void incompatibleWarmStartTrainsFromScratch() {
        VectorStore store = blobs(0, 3, 3);
        TrainedHead first = trainer.train(FAST, store, Optional.empty());
        TrainedHead other = trainer.train(FAST.withHiddenUnits(16), store, Optional.of(first));
        assertThat(other.info().warmStarted()).isFalse();

        VectorStore reordered = new VectorStore("blobs", "synthetic", 40);
        Blobs.fill(reordered, new Random(1), 0, 3, 3, 20, Split.TRAIN, "x");
        Blobs.fill(reordered, new Random(1), 0, 3, 3, 20, Split.TRAIN, "y");
        VectorStore swapped = new VectorStore("blobs", "synthetic", 40);
        swapped.add("first", "c1", Split.TRAIN, new float[40]);
        Blobs.fill(swapped, new Random(1), 0, 3, 3, 20, Split.TRAIN, "x");
        assertThat(trainer.train(FAST, swapped, Optional.of(first)).info().warmStarted()).isFalse();
        assertThat(trainer.train(FAST, reordered, Optional.of(first)).info().warmStarted()).isTrue();
    }

    @Test
    void refusesToTrainWithoutTwoLabels() {
        VectorStore store = new VectorStore("t", "b", 4);
        assertThatThrownBy(() -> trainer.train(FAST, store, Optional.empty())).hasMessageContaining("no train vectors");
        store.add("a", "only", Split.TRAIN, new float[4]);
        assertThatThrownBy(() -> trainer.train(FAST, store, Optional.empty())).hasMessageContaining("2 labels");
    }
}
