package dev.graft.app.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.graft.common.base.BaseNetworks;
import dev.graft.common.base.BaseSpec;
import java.util.List;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions;

class ProbeLayersTest {

    @Test
    void autoOnTheRealMobilenetV2PicksBlockAddsSpreadOverDepthAndTheBottleneck() {
        BaseNetworks.Source src = BaseNetworks.loadSource(BaseSpec.parse("nsfwjs:mobilenet_v2"),
                BaseNetworks.defaultCacheDir(), BaseNetworks.defaultZooDir(), true);
        ComputationGraphConfiguration conf = src.graph().getConfiguration();
        String bottleneck = BaseNetworks.defaultCut(src);
        assertThat(ProbeLayers.blockOutputs(conf, bottleneck)).hasSize(10).allMatch(n -> n.matches("block_\\d+_add"));
        assertThat(ProbeLayers.select(conf, bottleneck, "auto")).containsExactly(
                "block_2_add", "block_5_add", "block_9_add", "block_12_add", "block_15_add", "out_relu");
        assertThat(ProbeLayers.select(conf, bottleneck, "out_relu, block_12_add,block_12_add"))
                .containsExactly("block_12_add", "out_relu");
        assertThatThrownBy(() -> ProbeLayers.select(conf, bottleneck, "block_12_add,block_99_add"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown layer 'block_99_add'")
                .hasMessageContaining("block_2_add")
                .hasMessageContaining("out_relu");
        assertThatThrownBy(() -> ProbeLayers.select(conf, bottleneck, conf.getNetworkInputs().get(0)))
                .hasMessageContaining("raw pixels");
    }

    @Test
    void spreadKeepsFirstAndLastAndIsEven() {
        List<String> items = List.of("a", "b", "c", "d", "e", "f", "g", "h", "i", "j");
        assertThat(ProbeLayers.spread(items, 5)).containsExactly("a", "c", "f", "h", "j");
        assertThat(ProbeLayers.spread(items, 2)).containsExactly("a", "j");
        assertThat(ProbeLayers.spread(items, 1)).containsExactly("j");
        assertThat(ProbeLayers.spread(items, 20)).isEqualTo(items);
        assertThat(ProbeLayers.spread(List.of(), 5)).isEmpty();
    }

    @Test
    void chainWithoutMergesFallsBackToPoolingLayers() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.convolutional(16, 16, 3))
                .addLayer("conv1", new ConvolutionLayer.Builder(3, 3).nOut(4).build(), "in")
                .addLayer("pool1", new SubsamplingLayer.Builder(2, 2).stride(2, 2).build(), "conv1")
                .addLayer("conv2", new ConvolutionLayer.Builder(3, 3).nOut(4).build(), "pool1")
                .addLayer("pool2", new SubsamplingLayer.Builder(2, 2).stride(2, 2).build(), "conv2")
                .addLayer("conv3", new ConvolutionLayer.Builder(1, 1).nOut(4).build(), "pool2")
                .addLayer("gap", new GlobalPoolingLayer.Builder().build(), "conv3")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(2)
                        .activation(Activation.SOFTMAX).build(), "gap")
                .setOutputs("out")
                .build();
        assertThat(ProbeLayers.select(conf, "conv3", "auto")).containsExactly("pool1", "pool2", "conv3");
        assertThatThrownBy(() -> ProbeLayers.select(conf, "conv3", " , "))
                .hasMessageContaining("no layer");
    }
}
