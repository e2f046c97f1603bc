package dev.graft.finetune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.graft.common.base.BaseArtifact;
import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.base.BaseSpec;
import dev.graft.common.image.Resizer;
import dev.graft.common.image.RgbImage;
import dev.graft.headtrainer.FashionMnist;
import dev.graft.headtrainer.HeadConfig;
import dev.graft.headtrainer.HeadTrainer;
import dev.graft.headtrainer.TrainedHead;
import dev.graft.headtrainer.TrainingInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Fine-tuning the last block of nsfwjs MobileNetV2 cut at block_12_add on real Fashion-MNIST images at 96 px. */
class FineTuneTest {
    static final String CUT = "block_12_add";
    static final int SIZE = 96;

    static LabelledImages fashion(int n, List<String> labels) throws Exception {
        FashionMnist.Data d = FashionMnist.train(n);
        List<RgbImage> images = new ArrayList<>();
        for (float[] px : d.images()) {
            byte[] rgb = new byte[28 * 28 * 3];
            for (int i = 0; i < px.length; i++) {
                byte v = (byte) Math.round(px[i] * 255);
                rgb[3 * i] = v;
                rgb[3 * i + 1] = v;
                rgb[3 * i + 2] = v;
            }
            images.add(new RgbImage(28, 28, rgb));
        }
        return new LabelledImages(images, d.labels(), labels);
    }

    static INDArray pixels(LabelledImages data, int from, int to) {
        float[] buf = new float[(to - from) * Resizer.floatsPerImage(SIZE)];
        for (int i = from; i < to; i++) {
            Resizer.resizeInto(data.images().get(i), SIZE, buf, (i - from) * Resizer.floatsPerImage(SIZE));
        }
        return Nd4j.create(buf, new long[] {to - from, SIZE, SIZE, 3}, 'c');
    }

    @Test
    void fineTuningTrainsOnlyTheUnfrozenBlockKeepsBatchNormStatisticsAndLowersTheLoss() throws Exception {
        assumeTrue(FashionMnist.available(), "Fashion-MNIST not installed");
        BaseNetworks.Source src = BaseNetworks.loadSource(BaseSpec.parse("nsfwjs:mobilenet_v2"),
                BaseNetworks.defaultCacheDir(), BaseNetworks.defaultZooDir(), true);
        LabelledImages data = fashion(64, FashionMnist.CLASSES);
        BaseNetwork frozenBase = BaseNetworks.load(src, CUT, SIZE);
        INDArray x = pixels(data, 0, data.size());
        INDArray features = frozenBase.extract(x);
        TrainedHead head = new HeadTrainer().train(HeadConfig.defaults().withEpochs(3).withStandardize(true),
                features, data.labels(), data.labelNames(), Optional.empty(), "fmnist", frozenBase.ref().id());

        FineTuneGraph g = FineTuneGraph.build(src, CUT, SIZE, "last 1 block", head, 1e-4, 42);
        assertThat(g.freezePoint().firstTrainable()).isEqualTo("block_12_expand");
        INDArray probe = x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 8));
        assertThat(maxAbsDiff(g.predict(probe), head.predict(features.getRows(0, 1, 2, 3, 4, 5, 6, 7))))
                .as("before training, the fine-tune graph computes the frozen base + serving head (BN in inference "
                        + "form, standardizer folded)").isLessThan(1e-3);

        List<String> frozen = g.freezePoint().frozen(g.order());
        List<String> trained = g.order().subList(g.freezePoint().index(), g.order().size());
        Map<String, INDArray> before = snapshot(g, g.order());
        int bnFrozen = 0;
        for (String v : frozen) {
            if (layerConf(g, v) instanceof BatchNormalization) bnFrozen++;
        }
        assertThat(bnFrozen).as("frozen BatchNorm layers").isGreaterThan(20);
        for (String v : trained) {
            assertThat(layerConf(g, v) instanceof BatchNormalization)
                    .as(v + " in the trained part is not a (batch-statistics) BatchNorm").isFalse();
        }
        assertThat(g.affines()).contains("block_12_expand_BN", "block_12_depthwise_BN", "block_12_project_BN");

        FineTuner.Stats stats = FineTuner.train(g, data, new FineTuner.Settings(3, 16, Augmentation.NONE, 7),
                FineTuner.Progress.NONE);
        assertThat(stats.epochLoss().get(2)).as("loss per epoch " + stats.epochLoss())
                .isLessThan(stats.epochLoss().get(0));

        Map<String, INDArray> after = snapshot(g, g.order());
        for (String v : frozen) {
            if (before.containsKey(v)) {
                assertThat(after.get(v).equals(before.get(v))).as(v + " frozen: bit-identical (incl. BN running stats)").isTrue();
            }
        }
        int changed = 0;
        for (String v : trained) {
            if (before.containsKey(v)) {
                assertThat(after.get(v).equals(before.get(v))).as(v + " trained: changed").isFalse();
                changed++;
            }
        }
        assertThat(changed).isGreaterThanOrEqualTo(6);

        // The published form: base artifact + unfolded head compute what the trained graph computes.
        TrainedHead tuned = g.head("tbd", new TrainingInfo(data.size(), 3, 0, true, head.labelCount(), stats.lastLoss()));
        BaseArtifact a = BaseArtifact.of("fmnist", 1, g.base(), CUT, SIZE, g.preprocessing(),
                g.freezePoint().firstTrainable(), tuned.toBytes());
        try (BaseNetwork published = BaseArtifact.read(a.toBytes()).network()) {
            assertThat(maxAbsDiff(tuned.predict(published.extract(probe)), g.predict(probe))).isLessThan(1e-3);
            assertThat(maxAbsDiff(published.extract(probe), frozenBase.extract(probe)))
                    .as("the published base differs from the original").isGreaterThan(1e-4);
        }
    }

    static org.deeplearning4j.nn.conf.layers.Layer layerConf(FineTuneGraph g, String v) {
        var gv = g.base().getConfiguration().getVertices().get(v);
        return gv instanceof LayerVertex lv ? lv.getLayerConf().getLayer() : null;
    }

    static Map<String, INDArray> snapshot(FineTuneGraph g, List<String> names) {
        Map<String, INDArray> m = new HashMap<>();
        for (String v : names) {
            Layer l = g.trainable().getLayer(v);
            if (l != null && l.numParams() > 0) m.put(v, l.params().dup());
        }
        return m;
    }

    static double maxAbsDiff(INDArray a, INDArray b) {
        return a.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE)
                .sub(b.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE)).amaxNumber().doubleValue();
    }
}
