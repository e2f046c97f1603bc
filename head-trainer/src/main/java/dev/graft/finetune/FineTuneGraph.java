package dev.graft.finetune;

import dev.graft.common.base.BaseNetworks;
import dev.graft.common.base.Preprocessing;
import dev.graft.headtrainer.Standardizer;
import dev.graft.headtrainer.TrainedHead;
import dev.graft.headtrainer.TrainingInfo;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The trainable network of a fine-tune: a base cut at its cut layer, built from the <b>unfrozen</b> import (DL4J
 * cannot unfreeze a frozen graph), with
 * <ul>
 *   <li>every vertex before the {@link FreezePoint} frozen ({@code setFeatureExtractor}: DL4J's frozen layers
 *       always run in inference mode, so their BatchNorm uses its running statistics and nothing of them
 *       changes);</li>
 *   <li>every BatchNorm layer at or after the freeze point replaced by its inference-mode form, a per-channel
 *       affine {@code y = x * gamma/std + (beta - mean * gamma/std)} (a 1x1 depthwise convolution with bias,
 *       trainable like gamma and beta; the running statistics are folded in and never re-estimated: DL4J's
 *       trainable BatchNorm would switch to batch statistics, which the notes saw blow up the loss, and a
 *       frozen layer in the middle of the trained part would stop the gradient);</li>
 *   <li>dropout cleared on the imported layers (M2.1 crashes in NHWC dropout backprop otherwise);</li>
 *   <li>global average pooling of the cut and the serving head's layers on top, with the head's standardizer
 *       folded into its first layer (W' = W / scale per input row, b' = b - mean . W'), unfolded again by
 *       {@link #head}. The head trains without dropout.</li>
 * </ul>
 * Everything is trained with Adam at the given (low) learning rate.
 */
public final class FineTuneGraph {
    public static final String POOL = "ft_global_pool";
    public static final String HIDDEN = "ft_head_dense";
    public static final String OUTPUT = "ft_head_out";

    private final ComputationGraph base;
    private final ComputationGraph trainable;
    private final FreezePoint freezePoint;
    private final List<String> order;
    private final List<String> affines;
    private final String cut;
    private final int inputSize;
    private final Preprocessing preprocessing;
    private final boolean channelsLast;
    private final TrainedHead startHead;
    private final List<String> headLayers;

    private FineTuneGraph(ComputationGraph base, ComputationGraph trainable, FreezePoint freezePoint,
                          List<String> order, List<String> affines, String cut, int inputSize,
                          Preprocessing preprocessing, boolean channelsLast, TrainedHead startHead,
                          List<String> headLayers) {
        this.base = base;
        this.trainable = trainable;
        this.freezePoint = freezePoint;
        this.order = order;
        this.affines = affines;
        this.cut = cut;
        this.inputSize = inputSize;
        this.preprocessing = preprocessing;
        this.channelsLast = channelsLast;
        this.startHead = startHead;
        this.headLayers = headLayers;
    }

    /**
     * @param src the unfrozen imported source (e.g. {@code BaseNetworks.loadSource}); not modified
     * @param cut the task's cut layer; {@code head} must take the cut's pooled output
     * @param unfreezeFrom layer name or {@code last N blocks}; IllegalArgumentException if unknown
     */
    public static FineTuneGraph build(BaseNetworks.Source src, String cut, int inputSize, String unfreezeFrom,
                                      TrainedHead head, double learningRate, long seed) {
        ComputationGraph cutGraph = BaseNetworks.cutGraphCopy(src, cut);
        ComputationGraphConfiguration conf = cutGraph.getConfiguration();
        List<String> order = new ArrayList<>(conf.getTopologicalOrderStr());
        order.removeAll(conf.getNetworkInputs());
        FreezePoint fp = FreezePoint.resolve(order, unfreezeFrom);
        FineTuneConfiguration ftc = new FineTuneConfiguration.Builder()
                .updater(new Adam(learningRate)).dropOut(0.0).seed(seed).build();

        // 1. the unfrozen base with the trained part's BatchNorm in inference form
        List<String> affines = new ArrayList<>();
        TransferLearning.GraphBuilder b1 = new TransferLearning.GraphBuilder(cutGraph).fineTuneConfiguration(ftc);
        for (String v : order.subList(fp.index(), order.size())) {
            if (layerConf(conf, v) instanceof BatchNormalization bn) {
                String[] in = conf.getVertexInputs().get(v).toArray(String[]::new);
                b1.removeVertexKeepConnections(v);
                b1.addLayer(v, new DepthwiseConvolution2D.Builder(1, 1).nIn(bn.getNOut()).nOut(bn.getNOut())
                        .depthMultiplier(1).hasBias(true).activation(Activation.IDENTITY)
                        .dataFormat(src.channelsLast() ? CNN2DFormat.NHWC : CNN2DFormat.NCHW)
                        .updater(new Adam(learningRate)).build(), in);
                affines.add(v);
            }
        }
        ComputationGraph base = affines.isEmpty() ? cutGraph : b1.setOutputs(cut).build();
        for (String v : affines) {
            setAffineFromBatchNorm(cutGraph.getLayer(v), (BatchNormalization) layerConf(conf, v), base.getLayer(v));
        }

        // 2. frozen below the freeze point, head on top
        Set<String> frozen = new HashSet<>(fp.frozen(order));
        Set<String> frontier = new LinkedHashSet<>();
        ComputationGraphConfiguration bconf = base.getConfiguration();
        for (String v : order.subList(fp.index(), order.size())) {
            for (String in : bconf.getVertexInputs().get(v)) {
                if (frozen.contains(in)) frontier.add(in);
            }
        }
        TransferLearning.GraphBuilder b2 = new TransferLearning.GraphBuilder(base).fineTuneConfiguration(ftc);
        if (!frontier.isEmpty()) b2.setFeatureExtractor(frontier.toArray(String[]::new));
        b2.addLayer(POOL, new GlobalPoolingLayer.Builder(PoolingType.AVG)
                .poolingDimensions(src.channelsLast() ? new int[] {1, 2} : new int[] {2, 3}).collapseDimensions(true)
                .build(), cut);
        MultiLayerNetwork hn = head.network();
        List<String> headLayers = new ArrayList<>();
        String prev = POOL;
        for (int l = 0; l < hn.getnLayers(); l++) {
            boolean last = l == hn.getnLayers() - 1;
            String name = last ? OUTPUT : HIDDEN + "_" + l;
            org.deeplearning4j.nn.conf.layers.Layer lc = hn.getLayer(l).conf().getLayer();
            long nIn = hn.getLayer(l).getParam("W").size(0);
            long nOut = hn.getLayer(l).getParam("W").size(1);
            org.deeplearning4j.nn.conf.layers.Layer copy;
            if (lc instanceof OutputLayer ol) {
                copy = new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(nIn).nOut(nOut)
                        .activation(ol.getActivationFn()).updater(new Adam(learningRate)).build();
            } else if (lc instanceof DenseLayer dl) {
                copy = new DenseLayer.Builder().nIn(nIn).nOut(nOut).activation(dl.getActivationFn())
                        .updater(new Adam(learningRate)).build();
            } else {
                throw new IllegalArgumentException("head layer " + l + " is a " + lc.getClass().getSimpleName()
                        + "; fine-tuning supports dense and output layers");
            }
            b2.addLayer(name, copy, prev);
            headLayers.add(name);
            prev = name;
        }
        ComputationGraph trainable = b2.setOutputs(OUTPUT).build();
        for (String v : affines) {
            // GraphBuilder copies parameters with Layer.setParams, which M2.1 gets wrong for a convolution with
            // bias (its flat view holds the bias first, setParams assumes W first): copy them by name instead.
            copyParams(base.getLayer(v), trainable.getLayer(v));
        }
        Standardizer std = head.standardizer().orElse(null);
        for (int l = 0; l < headLayers.size(); l++) {
            INDArray w = hn.getLayer(l).getParam("W").dup();
            INDArray bias = hn.getLayer(l).getParam("b").dup();
            if (l == 0 && std != null) {
                INDArray mean = Nd4j.create(std.mean(), new long[] {1, std.dim()}, DataType.FLOAT);
                INDArray scale = Nd4j.create(std.scale(), new long[] {std.dim(), 1}, DataType.FLOAT);
                w = w.castTo(DataType.FLOAT).diviColumnVector(scale);
                bias = bias.castTo(DataType.FLOAT).sub(mean.mmul(w));
            }
            trainable.getLayer(headLayers.get(l)).getParam("W").assign(w);
            trainable.getLayer(headLayers.get(l)).getParam("b").assign(bias);
        }
        return new FineTuneGraph(base, trainable, fp, List.copyOf(order), List.copyOf(affines), cut, inputSize,
                src.preprocessing(), src.channelsLast(), head, List.copyOf(headLayers));
    }

    private static org.deeplearning4j.nn.conf.layers.Layer layerConf(ComputationGraphConfiguration conf, String v) {
        GraphVertex gv = conf.getVertices().get(v);
        return gv instanceof LayerVertex lv ? lv.getLayerConf().getLayer() : null;
    }

    /** Inference-mode BatchNorm as a per-channel affine: w = gamma / std, b = beta - mean * w. */
    private static void setAffineFromBatchNorm(Layer bnLayer, BatchNormalization bn, Layer affine) {
        Map<String, INDArray> p = bnLayer.paramTable();
        INDArray mean = p.get("mean").castTo(DataType.DOUBLE).reshape(-1);
        INDArray std;
        if (p.containsKey("log10stdev")) {
            std = Transforms.pow(Nd4j.valueArrayOf(mean.shape(), 10.0, DataType.DOUBLE),
                    p.get("log10stdev").castTo(DataType.DOUBLE).reshape(-1), false);
        } else {
            std = Transforms.sqrt(p.get("var").castTo(DataType.DOUBLE).reshape(-1).add(bn.getEps()), false);
        }
        INDArray gamma = p.containsKey("gamma") ? p.get("gamma").castTo(DataType.DOUBLE).reshape(-1)
                : Nd4j.valueArrayOf(mean.shape(), bn.getGamma(), DataType.DOUBLE);
        INDArray beta = p.containsKey("beta") ? p.get("beta").castTo(DataType.DOUBLE).reshape(-1)
                : Nd4j.valueArrayOf(mean.shape(), bn.getBeta(), DataType.DOUBLE);
        INDArray w = gamma.div(std);
        INDArray b = beta.sub(mean.mul(w));
        INDArray wp = affine.getParam("W");
        wp.assign(w.castTo(wp.dataType()).reshape(wp.shape()));
        INDArray bp = affine.getParam("b");
        bp.assign(b.castTo(bp.dataType()).reshape(bp.shape()));
    }

    /** The graph to train: images (preprocessed, in the base's layout) in, class probabilities out. */
    public ComputationGraph trainable() {
        return trainable;
    }

    /**
     * The base (output = the cut layer, nothing frozen) with the current trained weights copied in: what a
     * {@code graft-base-zip-v1} artifact stores.
     */
    public ComputationGraph base() {
        for (String v : order.subList(freezePoint.index(), order.size())) {
            Layer target = base.getLayer(v);
            if (target != null && target.numParams() > 0) {
                copyParams(trainable.getLayer(v), target);
            }
        }
        return base;
    }

    /** Copies every parameter by name (not through the flat view: see {@link #build}). */
    private static void copyParams(Layer from, Layer to) {
        for (Map.Entry<String, INDArray> e : from.paramTable().entrySet()) {
            to.getParam(e.getKey()).assign(e.getValue());
        }
    }

    /**
     * The head with the current trained weights (standardizer unfolded again, same config and labels as the
     * head the fine-tune started from), for base id {@code baseId}.
     */
    public TrainedHead head(String baseId, TrainingInfo info) {
        MultiLayerNetwork hn = new MultiLayerNetwork(startHead.network().getLayerWiseConfigurations().clone());
        hn.init();
        Standardizer std = startHead.standardizer().orElse(null);
        for (int l = 0; l < headLayers.size(); l++) {
            INDArray w = trainable.getLayer(headLayers.get(l)).getParam("W").dup();
            INDArray bias = trainable.getLayer(headLayers.get(l)).getParam("b").dup();
            if (l == 0 && std != null) {
                INDArray mean = Nd4j.create(std.mean(), new long[] {1, std.dim()}, DataType.FLOAT);
                INDArray scale = Nd4j.create(std.scale(), new long[] {std.dim(), 1}, DataType.FLOAT);
                bias = bias.add(mean.mmul(w)); // b = b' + mean . W', with W' still folded
                w = w.mulColumnVector(scale);
            }
            hn.getLayer(l).getParam("W").assign(w);
            hn.getLayer(l).getParam("b").assign(bias);
        }
        return TrainedHead.of(hn, startHead.labels(), startHead.config(), std, startHead.task(), baseId,
                startHead.inputDim(), info);
    }

    /** Class probabilities [n, k] for raw RGB [n, size, size, 3] in [0,255] (inference mode). */
    public INDArray predict(INDArray rgb255) {
        return trainable.outputSingle(false, input(rgb255));
    }

    /** The network input for raw RGB NHWC in [0,255]: preprocessed, in the base's layout. */
    INDArray input(INDArray rgb255) {
        INDArray x = preprocessing.apply(rgb255);
        return channelsLast ? x : x.permute(0, 3, 1, 2).dup('c');
    }

    public FreezePoint freezePoint() {
        return freezePoint;
    }

    /** Vertices of the cut base in topological order (inputs excluded). */
    public List<String> order() {
        return order;
    }

    /** BatchNorm layers of the trained part, replaced by their inference-mode affine. */
    public List<String> affines() {
        return affines;
    }

    public String cut() {
        return cut;
    }

    public int inputSize() {
        return inputSize;
    }

    public Preprocessing preprocessing() {
        return preprocessing;
    }

    public TrainedHead startHead() {
        return startHead;
    }
}
