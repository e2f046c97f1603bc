package dev.graft.common.base;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.graft.common.base.internal.FoldedCheck;
import dev.graft.common.base.internal.FoldedExecutor;
import java.nio.file.Path;
import java.util.List;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The folded inference executor against the DL4J graph it was translated from (real nsfwjs weights). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FoldedExecutorTest {

    BaseNetworks.Source src;

    @BeforeAll
    void load() {
        Path cache = Path.of(System.getProperty("graft.test.models", "target/test-models"));
        src = BaseNetworks.loadSource(BaseSpec.parse("nsfwjs:mobilenet_v2"), cache, BaseNetworks.defaultZooDir(), true);
    }

    @Test
    void foldedMatchesDl4jGraphOnRealWeightsAndImagesInBothLayouts() throws Exception {
        for (String cut : List.of("block_12_add", "out_relu")) {
            CutGraphNetwork dl4j = (CutGraphNetwork) BaseNetworks.load(src, cut, 96, "dl4j");
            assertThat(dl4j.executor()).isEqualTo("dl4j");
            INDArray x = GoldenInputs.images(96, 0, 1, 2);
            INDArray want = dl4j.extract(x);
            for (boolean nhwc : new boolean[] {true, false}) {
                FoldedExecutor ex = FoldedExecutor.compile(dl4j.graph(), List.of(cut), nhwc);
                // BatchNorm disappears into the convolutions: one conv op per DL4J convolution layer.
                assertThat(ex.toString()).contains(cut.equals("out_relu") ? "52 conv (52 BN folded)" : "BN folded");
                for (int rep = 0; rep < 2; rep++) { // second call reuses the buffers
                    INDArray got = ex.pooled(Preprocessing.UNIT.apply(x))[0];
                    assertThat(got.shape()).isEqualTo(want.shape());
                    double scale = want.amaxNumber().doubleValue();
                    assertThat(got.sub(want).amaxNumber().doubleValue() / scale)
                            .as("%s %s rep %d", cut, nhwc ? "NHWC" : "NCHW", rep).isLessThanOrEqualTo(1e-5);
                }
            }
            // The default load picks the folded executor and gives the same features.
            BaseNetwork dflt = BaseNetworks.load(src, cut, 96, "folded");
            assertThat(dflt.executor()).isEqualTo("folded");
            assertThat(dflt.extract(x).sub(want).amaxNumber().doubleValue())
                    .isLessThanOrEqualTo(1e-5 * want.amaxNumber().doubleValue());
        }
    }

    @Test
    void severalCutsInOnePassMatchTheDl4jGraph() {
        List<String> cuts = List.of("block_5_add", "block_12_add", "out_relu");
        BaseNetwork folded = BaseNetworks.loadCuts(src, cuts, 96, "folded");
        BaseNetwork dl4j = BaseNetworks.loadCuts(src, cuts, 96, "dl4j");
        assertThat(folded.executor()).isEqualTo("folded");
        assertThat(folded.refs()).isEqualTo(dl4j.refs());
        INDArray x = GoldenInputs.images(96, 0, 3);
        List<INDArray> got = folded.extractAll(x);
        List<INDArray> want = dl4j.extractAll(x);
        for (int i = 0; i < cuts.size(); i++) {
            assertThat(got.get(i).shape()).isEqualTo(want.get(i).shape());
            assertThat(got.get(i).sub(want.get(i)).amaxNumber().doubleValue())
                    .as(cuts.get(i)).isLessThanOrEqualTo(1e-5 * want.get(i).amaxNumber().doubleValue());
        }
    }

    @Test
    void batchSizeChangesReallocateBuffersWithoutMixingResults() {
        BaseNetwork net = BaseNetworks.load(src, "block_12_add", 96, "folded");
        INDArray one = net.extract(GoldenInputs.images(96, 5)).dup();
        INDArray three = net.extract(GoldenInputs.images(96, 4, 5, 6));
        net.extract(GoldenInputs.images(96, 1, 2)); // a third batch size evicts the oldest buffers
        INDArray again = net.extract(GoldenInputs.images(96, 5));
        assertThat(three.getRow(1).sub(one.getRow(0)).amaxNumber().doubleValue()).isLessThanOrEqualTo(1e-5);
        assertThat(again.sub(one).amaxNumber().doubleValue()).isEqualTo(0.0);
    }

    @Test
    void opContextsBuiltOncePerPlanComputeEachCallsOwnInput() {
        BaseNetwork folded = BaseNetworks.load(src, "out_relu", 96, "folded");
        BaseNetwork dl4j = BaseNetworks.load(src, "out_relu", 96, "dl4j");
        for (int rep = 0; rep < 2; rep++) {
            for (int image : new int[] {3, 7}) { // one plan, its contexts reused: each call must see its own pixels
                INDArray want = dl4j.extract(GoldenInputs.images(96, image));
                INDArray got = folded.extract(GoldenInputs.images(96, image));
                assertThat(got.sub(want).amaxNumber().doubleValue())
                        .as("image %d, call %d", image, rep).isLessThanOrEqualTo(1e-5 * want.amaxNumber().doubleValue());
            }
        }
        assertThat(folded.extract(GoldenInputs.images(96, 3)).sub(folded.extract(GoldenInputs.images(96, 7)).dup())
                .amaxNumber().doubleValue()).as("two images' features differ").isGreaterThan(1e-3);
    }

    @Test
    void denseHeadIsUnsupportedSoTheDl4jGraphRuns() {
        BaseNetwork whole = BaseNetworks.load(src, "dense_3", 0, "folded");
        assertThat(whole.executor()).isEqualTo("dl4j");
        assertThat(whole.extract(GoldenInputs.images(224, 0)).shape()).containsExactly(1, 5);
    }

    @Test
    void unsupportedLayerIsReportedByName() {
        ComputationGraph g = new ComputationGraph(new NeuralNetConfiguration.Builder().graphBuilder()
                .addInputs("in")
                .addLayer("conv", new ConvolutionLayer.Builder(3, 3).nIn(3).nOut(4).activation(org.nd4j.linalg.activations.Activation.RELU).build(), "in")
                .addLayer("lrn", new LocalResponseNormalization.Builder().build(), "conv")
                .setOutputs("lrn")
                .setInputTypes(InputType.convolutional(8, 8, 3, org.deeplearning4j.nn.conf.CNN2DFormat.NCHW))
                .build());
        g.init();
        assertThatThrownBy(() -> FoldedExecutor.compile(g, List.of("lrn"), true))
                .isInstanceOf(FoldedExecutor.Unsupported.class).hasMessageContaining("lrn");
        FoldedCheck.Result r = FoldedCheck.build(g, List.of("lrn"), x -> g.output(false, x.permute(0, 3, 1, 2)),
                Preprocessing.UNIT::apply, 8, true);
        assertThat(r.executor()).isNull();
        assertThat(r.reason()).startsWith("unsupported");
    }

    @Test
    void checkRejectsAnExecutorThatDisagreesWithTheGraph() {
        CutGraphNetwork dl4j = (CutGraphNetwork) BaseNetworks.load(src, "block_5_add", 96, "dl4j");
        ComputationGraph g = dl4j.graph();
        // A reference that is off by 1% of its scale stands for a wrongly translated layer.
        FoldedCheck.Result r = FoldedCheck.build(g, List.of("block_5_add"), x -> {
            INDArray o = g.outputSingle(false, x);
            return new INDArray[] {o.add(o.amaxNumber().doubleValue() * 0.01)};
        }, Preprocessing.UNIT::apply, 96, false);
        assertThat(r.executor()).isNull();
        assertThat(r.reason()).contains("block_5_add").contains("differs");
        FoldedCheck.Result ok = FoldedCheck.build(g, List.of("block_5_add"), x -> new INDArray[] {g.outputSingle(false, x)},
                Preprocessing.UNIT::apply, 96, false);
        assertThat(ok.executor()).isNotNull();
        assertThat(ok.relDiff()).isLessThanOrEqualTo(FoldedCheck.TOLERANCE);
    }
}
