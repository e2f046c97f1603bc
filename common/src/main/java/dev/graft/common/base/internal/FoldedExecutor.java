package dev.graft.common.base.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU6;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.executioner.OpExecutioner;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Inference-only executor for a frozen convolutional graph: the DL4J {@link ComputationGraph} is translated once
 * into a flat list of ND4J custom ops (conv2d / depthwise_conv2d with BatchNorm folded into weights and bias,
 * ReLU/ReLU6 applied in place, add, concat, pad, pooling) that run on buffers preallocated per batch size and
 * reused across calls (buffers of dead values are recycled). No DL4J layer bookkeeping, no workspaces.
 *
 * <p>Each op of a plan also gets its native op context once, when the plan is built: its inputs, outputs and
 * arguments never change, as the plan's buffers do not. {@code Nd4j.exec(op)} builds a new context on every call,
 * and ND4J frees a context only after the GC has found its Java object unreachable, through its deallocator
 * thread: at batch 1 that was some 60 native contexts per image, and the deallocator thread alone used 0.2–0.9
 * CPU-ms per image in the pipeline (nineteenth session). {@code -Dgraft.base.executor.contexts=false} goes back to
 * {@code Nd4j.exec} per call, for A/B runs.
 *
 * <p>Supported vertices: Convolution2D and DepthwiseConvolution2D (same/truncate/strict modes), BatchNormalization,
 * ActivationLayer (identity, ReLU, ReLU6 / ReLU with max), ZeroPadding2D, max/avg Subsampling, Dropout (identity at
 * inference), ElementWise add, Merge (channel concat). Anything else: {@link #compile} throws {@link Unsupported}.
 * Not thread-safe.
 */
public final class FoldedExecutor {

    /** The graph has a vertex this executor cannot run. */
    public static final class Unsupported extends Exception {
        public Unsupported(String message) {
            super(message);
        }
    }

    /** Activation fused into an op, applied in place on its output. */
    enum Act { NONE, RELU, RELU6 }

    private abstract static class Node {
        final int[] srcs;
        Act act = Act.NONE;

        Node(int... srcs) {
            this.srcs = srcs;
        }

        /** May the output overwrite the first input (when that input dies here)? */
        boolean inPlaceCapable() {
            return false;
        }

        abstract DynamicCustomOp op(INDArray[] in, INDArray out, boolean nhwc);
    }

    private static final class Input extends Node {
        Input() {
            super();
        }

        @Override
        DynamicCustomOp op(INDArray[] in, INDArray out, boolean nhwc) {
            throw new IllegalStateException();
        }
    }

    private static final class Conv extends Node {
        final boolean depthwise;
        final int[] k, s, p, d;
        final boolean same;
        INDArray w; // depthwise: [kH,kW,iC,mC]; conv: [oC,iC,kH,kW] (DL4J layout)
        INDArray b; // [oC], or null

        Conv(int src, boolean depthwise, INDArray w, INDArray b, int[] k, int[] s, int[] p, int[] d, boolean same) {
            super(src);
            this.depthwise = depthwise;
            this.w = w;
            this.b = b;
            this.k = k;
            this.s = s;
            this.p = p;
            this.d = d;
            this.same = same;
        }

        int outChannels() {
            return depthwise ? (int) (w.size(2) * w.size(3)) : (int) w.size(0);
        }

        /** Multiplies output channel o by scale[o] and then adds shift[o] (a BatchNorm after this conv). */
        void fold(float[] scale, float[] shift) {
            int oc = outChannels();
            INDArray sc = Nd4j.createFromArray(scale);
            if (depthwise) {
                w = w.dup('c').reshape(-1, oc).muliRowVector(sc).reshape(w.shape());
            } else {
                w = w.dup('c').reshape(oc, -1).muliColumnVector(sc.reshape(oc, 1)).reshape(w.shape());
            }
            float[] bias = b == null ? new float[oc] : b.toFloatVector();
            float[] nb = new float[oc];
            for (int o = 0; o < oc; o++) nb[o] = bias[o] * scale[o] + shift[o];
            b = Nd4j.createFromArray(nb);
        }

        @Override
        DynamicCustomOp op(INDArray[] in, INDArray out, boolean nhwc) {
            return op(in, out, nhwc, same);
        }

        /** @param sameMode TF "same" padding (also used for a zero padding folded into this valid conv) */
        DynamicCustomOp op(INDArray[] in, INDArray out, boolean nhwc, boolean sameMode) {
            // weights format 0 = [kH,kW,iC,oC] (depthwise: [kH,kW,iC,mC]), the format oneDNN paths are built for
            INDArray wk = depthwise ? w : w.permute(2, 3, 1, 0).dup('c');
            DynamicCustomOp.DynamicCustomOpsBuilder bld = DynamicCustomOp.builder(depthwise ? "depthwise_conv2d" : "conv2d")
                    .addInputs(b == null ? new INDArray[] {in[0], wk} : new INDArray[] {in[0], wk, b})
                    .addIntegerArguments(k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], sameMode ? 1 : 0, nhwc ? 1 : 0, 0);
            if (out != null) bld.addOutputs(out);
            return bld.build();
        }
    }

    /** BatchNorm that could not be folded: per-channel scale and shift. */
    private static final class Affine extends Node {
        final INDArray scale, shift; // [C]

        Affine(int src, float[] scale, float[] shift) {
            super(src);
            this.scale = Nd4j.createFromArray(scale);
            this.shift = Nd4j.createFromArray(shift);
        }

        @Override
        boolean inPlaceCapable() {
            return true;
        }

        @Override
        DynamicCustomOp op(INDArray[] in, INDArray out, boolean nhwc) {
            throw new IllegalStateException("affine runs as two ops");
        }
    }

    private static final class Activation extends Node {
        Activation(int src, Act a) {
            super(src);
            act = a;
        }

        @Override
        boolean inPlaceCapable() {
            return true;
        }

        @Override
        DynamicCustomOp op(INDArray[] in, INDArray out, boolean nhwc) {
            throw new IllegalStateException("activation is applied by the step");
        }
    }

    private static final class Pad extends Node {
        final int top, bottom, left, right;

        Pad(int src, int[] tblr) {
            super(src);
            top = tblr[0];
            bottom = tblr[1];
            left = tblr[2];
            right = tblr[3];
        }

        @Override
        DynamicCustomOp op(INDArray[] in, INDArray out, boolean nhwc) {
            INDArray pads = nhwc
                    ? Nd4j.createFromArray(new int[][] {{0, 0}, {top, bottom}, {left, right}, {0, 0}})
                    : Nd4j.createFromArray(new int[][] {{0, 0}, {0, 0}, {top, bottom}, {left, right}});
            DynamicCustomOp.DynamicCustomOpsBuilder bld = DynamicCustomOp.builder("pad").addInputs(in[0], pads)
                    .addIntegerArguments(0).addFloatingPointArguments(0.0);
            if (out != null) bld.addOutputs(out);
            return bld.build();
        }
    }

    private static final class Pool extends Node {
        final boolean max;
        final int[] k, s, p, d;
        final boolean same, includePad;

        Pool(int src, boolean max, int[] k, int[] s, int[] p, int[] d, boolean same, boolean includePad) {
            super(src);
            this.max = max;
            this.k = k;
            this.s = s;
            this.p = p;
            this.d = d;
            this.same = same;
            this.includePad = includePad;
        }

        @Override
        DynamicCustomOp op(INDArray[] in, INDArray out, boolean nhwc) {
            DynamicCustomOp.DynamicCustomOpsBuilder bld = DynamicCustomOp.builder(max ? "maxpool2d" : "avgpool2d")
                    .addInputs(in[0])
                    .addIntegerArguments(k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], same ? 1 : 0,
                            max ? 0 : (includePad ? 1 : 0), nhwc ? 1 : 0);
            if (out != null) bld.addOutputs(out);
            return bld.build();
        }
    }

    private static final class Add extends Node {
        Add(int... srcs) {
            super(srcs);
        }

        @Override
        DynamicCustomOp op(INDArray[] in, INDArray out, boolean nhwc) {
            DynamicCustomOp.DynamicCustomOpsBuilder bld = DynamicCustomOp.builder("add").addInputs(in[0], in[1]);
            if (out != null) bld.addOutputs(out);
            return bld.build();
        }
    }

    private static final class Concat extends Node {
        Concat(int... srcs) {
            super(srcs);
        }

        @Override
        DynamicCustomOp op(INDArray[] in, INDArray out, boolean nhwc) {
            DynamicCustomOp.DynamicCustomOpsBuilder bld = DynamicCustomOp.builder("concat").addInputs(in)
                    .addIntegerArguments(nhwc ? 3 : 1);
            if (out != null) bld.addOutputs(out);
            return bld.build();
        }
    }

    private final List<Node> nodes;
    private final int[] outputs;
    private final List<String> outputNames;
    private final boolean nhwc;
    private final String summary;
    private final Map<Integer, Plan> plans = new LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, Plan> e) {
            return size() > 2; // keep buffers for the two most recent batch sizes only
        }
    };

    private FoldedExecutor(List<Node> nodes, int[] outputs, List<String> outputNames, boolean nhwc, String summary) {
        this.nodes = nodes;
        this.outputs = outputs;
        this.outputNames = outputNames;
        this.nhwc = nhwc;
        this.summary = summary;
    }

    /** Whether the executor computes in NHWC (else NCHW); {@link #forward} outputs are in this layout. */
    public boolean channelsLast() {
        return nhwc;
    }

    public List<String> outputNames() {
        return outputNames;
    }

    /** E.g. "52 conv (52 BN folded, 35 act fused), 10 add, 4 pad". */
    @Override
    public String toString() {
        return summary;
    }

    // ------------------------------------------------------------------------------------------ compile

    /**
     * Translates the graph (one input, any layout the layers agree on) into an op list computing {@code outputs}.
     *
     * @param nhwc compute in NHWC (true) or NCHW (false); input and parameters are converted accordingly
     */
    public static FoldedExecutor compile(ComputationGraph graph, List<String> outputs, boolean nhwc) throws Unsupported {
        ComputationGraphConfiguration conf = graph.getConfiguration();
        if (conf.getNetworkInputs().size() != 1) {
            throw new Unsupported(conf.getNetworkInputs().size() + " network inputs (need 1)");
        }
        Map<String, List<String>> inputsOf = conf.getVertexInputs();
        Map<String, Integer> consumers = new HashMap<>();
        for (List<String> in : inputsOf.values()) {
            for (String s : in) consumers.merge(s, 1, Integer::sum);
        }
        for (String o : outputs) {
            if (!conf.getVertices().containsKey(o)) throw new Unsupported("unknown output '" + o + "'");
            consumers.merge(o, 1, Integer::sum);
        }
        List<Node> nodes = new ArrayList<>();
        Map<String, Integer> nodeOf = new HashMap<>();
        nodes.add(new Input());
        nodeOf.put(conf.getNetworkInputs().get(0), 0);
        int folded = 0, fused = 0, affine = 0;
        Map<Integer, Integer> vertexCount = new HashMap<>(); // node -> how many vertices feed into it (fusion guard)

        for (String name : conf.getTopologicalOrderStr()) {
            if (nodeOf.containsKey(name)) continue; // network input
            GraphVertex gv = conf.getVertices().get(name);
            List<String> ins = inputsOf.get(name);
            if (ins == null || ins.isEmpty()) throw new Unsupported(name + ": vertex without inputs");
            int[] src = new int[ins.size()];
            for (int i = 0; i < src.length; i++) {
                Integer n = nodeOf.get(ins.get(i));
                if (n == null) throw new Unsupported(name + ": input " + ins.get(i) + " not computed");
                src[i] = n;
            }
            // Can the single input's node be modified in place (fold / fuse)? Only if this vertex is its sole reader.
            boolean soleReader = src.length == 1 && src[0] != 0 && consumers.getOrDefault(ins.get(0), 0) == 1;

            if (gv instanceof ElementWiseVertex ew) {
                if (ew.getOp() != ElementWiseVertex.Op.Add) throw new Unsupported(name + ": elementwise " + ew.getOp());
                int acc = src[0];
                for (int i = 1; i < src.length; i++) {
                    nodes.add(new Add(acc, src[i]));
                    acc = nodes.size() - 1;
                }
                nodeOf.put(name, acc);
                continue;
            }
            if (gv instanceof MergeVertex) {
                nodes.add(new Concat(src));
                nodeOf.put(name, nodes.size() - 1);
                continue;
            }
            if (!(gv instanceof LayerVertex lv)) throw new Unsupported(name + ": vertex " + gv.getClass().getSimpleName());
            if (lv.getPreProcessor() != null) {
                throw new Unsupported(name + ": input preprocessor " + lv.getPreProcessor().getClass().getSimpleName());
            }
            Layer l = lv.getLayerConf().getLayer();
            org.deeplearning4j.nn.api.Layer impl = graph.getLayer(name);
            if (src.length != 1) throw new Unsupported(name + ": layer with " + src.length + " inputs");

            if (l.getClass() == ConvolutionLayer.class || l.getClass() == DepthwiseConvolution2D.class) {
                ConvolutionLayer cl = (ConvolutionLayer) l;
                boolean same = cl.getConvolutionMode() == ConvolutionMode.Same;
                if (!same && cl.getConvolutionMode() != ConvolutionMode.Truncate
                        && cl.getConvolutionMode() != ConvolutionMode.Strict) {
                    throw new Unsupported(name + ": convolution mode " + cl.getConvolutionMode());
                }
                boolean dw = l instanceof DepthwiseConvolution2D;
                INDArray w = impl.getParam("W").castTo(DataType.FLOAT).dup('c');
                INDArray b = cl.hasBias() ? impl.getParam("b").castTo(DataType.FLOAT).reshape(-1).dup('c') : null;
                int[] pad = same ? new int[] {0, 0} : cl.getPadding();
                Conv c = new Conv(src[0], dw, w, b, cl.getKernelSize(), cl.getStride(), pad, cl.getDilation(), same);
                c.act = act(name, cl.getActivationFn());
                nodes.add(c);
                nodeOf.put(name, nodes.size() - 1);
            } else if (l instanceof BatchNormalization bn) {
                float[][] ss = batchNorm(name, bn, impl);
                Node in = nodes.get(src[0]);
                Act a = Act.NONE; // DL4J's BatchNormalization.activate ignores its configured activation
                if (soleReader && in instanceof Conv c && c.act == Act.NONE) {
                    c.fold(ss[0], ss[1]);
                    c.act = a;
                    nodeOf.put(name, src[0]);
                    folded++;
                } else {
                    Affine af = new Affine(src[0], ss[0], ss[1]);
                    af.act = a;
                    nodes.add(af);
                    nodeOf.put(name, nodes.size() - 1);
                    affine++;
                }
            } else if (l instanceof ActivationLayer al) {
                Act a = act(name, al.getActivationFn());
                Node in = nodes.get(src[0]);
                if (a == Act.NONE) {
                    nodeOf.put(name, src[0]);
                } else if (soleReader && in.act == Act.NONE && !(in instanceof Input) && !(in instanceof Concat)) {
                    in.act = a;
                    nodeOf.put(name, src[0]);
                    fused++;
                } else {
                    nodes.add(new Activation(src[0], a));
                    nodeOf.put(name, nodes.size() - 1);
                }
            } else if (l instanceof ZeroPaddingLayer zp) {
                nodes.add(new Pad(src[0], zp.getPadding()));
                nodeOf.put(name, nodes.size() - 1);
            } else if (l instanceof SubsamplingLayer sl) {
                if (sl.getPoolingType() != PoolingType.MAX && sl.getPoolingType() != PoolingType.AVG) {
                    throw new Unsupported(name + ": pooling " + sl.getPoolingType());
                }
                boolean same = sl.getConvolutionMode() == ConvolutionMode.Same;
                if (!same && sl.getConvolutionMode() != ConvolutionMode.Truncate
                        && sl.getConvolutionMode() != ConvolutionMode.Strict) {
                    throw new Unsupported(name + ": pooling mode " + sl.getConvolutionMode());
                }
                nodes.add(new Pool(src[0], sl.getPoolingType() == PoolingType.MAX, sl.getKernelSize(), sl.getStride(),
                        same ? new int[] {0, 0} : sl.getPadding(), sl.getDilation(), same,
                        sl.isAvgPoolIncludePadInDivisor()));
                nodeOf.put(name, nodes.size() - 1);
            } else if (l instanceof DropoutLayer) {
                nodeOf.put(name, src[0]); // identity at inference
            } else {
                throw new Unsupported(name + ": layer " + l.getClass().getSimpleName());
            }
            vertexCount.merge(nodeOf.get(name), 1, Integer::sum);
        }
        int[] out = new int[outputs.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = nodeOf.get(outputs.get(i));
            if (out[i] == 0) throw new Unsupported("output " + outputs.get(i) + " is the network input");
        }
        long convs = nodes.stream().filter(n -> n instanceof Conv).count();
        String summary = String.format("%d ops: %d conv (%d BN folded), %d activations fused, %d BN as affine, %s",
                nodes.size() - 1, convs, folded, fused, affine, nhwc ? "NHWC" : "NCHW");
        return new FoldedExecutor(nodes, out, List.copyOf(outputs), nhwc, summary);
    }

    private static Act act(String name, IActivation a) throws Unsupported {
        if (a == null || a instanceof ActivationIdentity) return Act.NONE;
        if (a instanceof ActivationReLU6) return Act.RELU6;
        if (a instanceof ActivationReLU r) {
            boolean plainNeg = (r.getThreshold() == null || r.getThreshold() == 0.0)
                    && (r.getNegativeSlope() == null || r.getNegativeSlope() == 0.0);
            if (plainNeg && r.getMax() == null) return Act.RELU;
            if (plainNeg && r.getMax() != null && r.getMax() == 6.0) return Act.RELU6;
        }
        throw new Unsupported(name + ": activation " + a);
    }

    /** {scale, shift} with y = x * scale + shift, from DL4J's inference formula. */
    private static float[][] batchNorm(String name, BatchNormalization bn, org.deeplearning4j.nn.api.Layer impl)
            throws Unsupported {
        Map<String, INDArray> p = impl.paramTable();
        double[] mean = vec(p.get("mean"));
        double[] var;
        if (bn.isUseLogStd()) {
            double[] log10s = vec(p.get("log10stdev"));
            if (log10s == null) throw new Unsupported(name + ": BatchNorm without log10stdev");
            var = new double[log10s.length];
            for (int i = 0; i < var.length; i++) var[i] = Math.pow(10, 2 * log10s[i]);
        } else {
            var = vec(p.get("var"));
        }
        if (mean == null || var == null) throw new Unsupported(name + ": BatchNorm without global mean/variance");
        double[] gamma = bn.isLockGammaBeta() ? null : vec(p.get("gamma"));
        double[] beta = bn.isLockGammaBeta() ? null : vec(p.get("beta"));
        float[] scale = new float[mean.length];
        float[] shift = new float[mean.length];
        for (int i = 0; i < mean.length; i++) {
            double g = gamma != null ? gamma[i] : bn.getGamma();
            double b = beta != null ? beta[i] : bn.getBeta();
            double s = g / Math.sqrt(var[i] + bn.getEps());
            scale[i] = (float) s;
            shift[i] = (float) (b - mean[i] * s);
        }
        return new float[][] {scale, shift};
    }

    private static double[] vec(INDArray a) {
        return a == null ? null : a.castTo(DataType.DOUBLE).reshape(-1).toDoubleVector();
    }

    // ------------------------------------------------------------------------------------------ run

    /** Ops and buffers for one batch size. */
    private final class Plan {
        final INDArray input; // in the executor's layout
        final INDArray[] values;
        final List<Runnable> steps = new ArrayList<>();
        final List<String> stepNames = new ArrayList<>();
        int padsFolded;

        Plan(long n, long h, long w, long ch) {
            int count = nodes.size();
            int[] lastUse = new int[count];
            for (int i = 0; i < count; i++) {
                for (int s : nodes.get(i).srcs) lastUse[s] = Math.max(lastUse[s], i);
            }
            int[] readers = new int[count];
            for (Node node : nodes) for (int s : node.srcs) readers[s]++;
            for (int o : outputs) {
                lastUse[o] = Integer.MAX_VALUE;
                readers[o]++;
            }
            lastUse[0] = Integer.MAX_VALUE; // the input buffer is refilled on every call
            boolean[] sameConv = new boolean[count]; // valid convs that absorb the zero padding before them
            boolean foldPads = !"false".equals(System.getProperty("graft.base.executor.foldpads"));
            values = new INDArray[count];
            INDArray[] bases = new INDArray[count]; // the flat buffer each value is a view of
            List<INDArray> free = new ArrayList<>();
            input = Nd4j.createUninitialized(DataType.FLOAT, nhwc ? new long[] {n, h, w, ch} : new long[] {n, ch, h, w});
            values[0] = input;
            bases[0] = input;
            for (int i = 1; i < count; i++) {
                Node node = nodes.get(i);
                INDArray[] in = new INDArray[node.srcs.length];
                for (int j = 0; j < in.length; j++) in[j] = values[node.srcs[j]];
                if (foldPads && node instanceof Pad pad && readers[i] == 1 && lastUse[i] > i && lastUse[i] < count
                        && nodes.get(lastUse[i]) instanceof Conv c && padIsSame(pad, c, in[0].shape())) {
                    // pad + valid conv == "same" conv at this input size: skip the padded copy
                    values[i] = in[0];
                    bases[i] = bases[node.srcs[0]];
                    lastUse[node.srcs[0]] = Math.max(lastUse[node.srcs[0]], lastUse[i]);
                    sameConv[lastUse[i]] = true;
                    padsFolded++;
                    continue;
                }
                INDArray out;
                if (node.inPlaceCapable() && lastUse[node.srcs[0]] == i) {
                    out = in[0];
                    bases[i] = bases[node.srcs[0]];
                } else {
                    long[] shape = node.inPlaceCapable() ? in[0].shape()
                            : outputShape(node instanceof Conv c ? c.op(in, null, nhwc, c.same || sameConv[i])
                                    : node.op(in, null, nhwc));
                    long len = 1;
                    for (long d : shape) len *= d;
                    bases[i] = take(free, len);
                    out = bases[i].get(NDArrayIndex.interval(0, len)).reshape('c', shape);
                }
                values[i] = out;
                addSteps(node, in, out, sameConv[i]);
                if (node.act != Act.NONE) step(node.act == Act.RELU6 ? "relu6" : "relu", activation(node.act, out));
                for (int s : node.srcs) {
                    if (lastUse[s] == i && bases[s] != bases[i] && free.stream().noneMatch(f -> f == bases[s])
                            && !pinned(bases[s], bases, lastUse, i)) {
                        free.add(bases[s]);
                    }
                }
            }
        }

        private void addSteps(Node node, INDArray[] in, INDArray out, boolean sameConv) {
            if (node instanceof Affine af) {
                INDArray sc = nhwc ? af.scale : af.scale.reshape(-1, 1, 1);
                INDArray sh = nhwc ? af.shift : af.shift.reshape(-1, 1, 1);
                DynamicCustomOp mul = DynamicCustomOp.builder("multiply").addInputs(in[0], sc).addOutputs(out).build();
                DynamicCustomOp add = DynamicCustomOp.builder("add").addInputs(out, sh).addOutputs(out).build();
                step("multiply", runner(mul));
                step("add", runner(add));
            } else if (node instanceof Activation) {
                if (out != in[0]) step("assign", () -> out.assign(in[0]));
            } else {
                DynamicCustomOp op = node instanceof Conv c ? c.op(in, out, nhwc, c.same || sameConv)
                        : node.op(in, out, nhwc);
                String name = op.opName() + (node instanceof Conv c && !c.depthwise && c.k[0] == 1 && c.k[1] == 1
                        ? " 1x1" : "");
                step(name, runner(op));
            }
        }

        /** Is {@code base} also the buffer of the input or of an output (never recycled)? */
        private boolean pinned(INDArray base, INDArray[] bases, int[] lastUse, int upTo) {
            for (int k = 0; k <= upTo; k++) {
                if (lastUse[k] == Integer.MAX_VALUE && bases[k] == base) return true;
            }
            return false;
        }

        private void step(String name, Runnable r) {
            steps.add(r);
            stepNames.add(name);
        }

        /** Is {@code pad} followed by the valid conv {@code c} the same as a TF "same" conv on {@code shape}? */
        private boolean padIsSame(Pad pad, Conv c, long[] shape) {
            if (c.same || c.p[0] != 0 || c.p[1] != 0 || c.d[0] != 1 || c.d[1] != 1) return false;
            long h = nhwc ? shape[1] : shape[2];
            long w = nhwc ? shape[2] : shape[3];
            long th = Math.max((h + c.s[0] - 1) / c.s[0] * c.s[0] - c.s[0] + c.k[0] - h, 0);
            long tw = Math.max((w + c.s[1] - 1) / c.s[1] * c.s[1] - c.s[1] + c.k[1] - w, 0);
            return pad.top == th / 2 && pad.bottom == th - th / 2 && pad.left == tw / 2 && pad.right == tw - tw / 2;
        }
    }

    private static Runnable activation(Act a, INDArray x) {
        DynamicCustomOp op = DynamicCustomOp.builder(a == Act.RELU6 ? "relu6" : "relu").addInputs(x).addOutputs(x)
                .addFloatingPointArguments(0.0).build();
        return runner(op);
    }

    /**
     * Runs {@code op} on a native context built here once (see the class comment), set up as {@code Nd4j.exec}
     * sets up its per-call one; {@code op}'s arrays must not be replaced afterwards.
     */
    private static Runnable runner(DynamicCustomOp op) {
        if ("false".equals(System.getProperty("graft.base.executor.contexts"))) return () -> Nd4j.exec(op);
        OpExecutioner executioner = Nd4j.getExecutioner();
        OpContext ctx = executioner.buildContext();
        ctx.markInplace(op.isInplaceCall());
        ctx.setInputArrays(op.inputArguments());
        ctx.setOutputArrays(op.outputArguments());
        ctx.setBArguments(op.bArgs());
        ctx.setIArguments(op.iArgs());
        ctx.setTArguments(op.tArgs());
        ctx.setDArguments(op.dArgs());
        return () -> executioner.exec(op, ctx);
    }

    private static long[] outputShape(DynamicCustomOp op) {
        List<LongShapeDescriptor> d = Nd4j.getExecutioner().calculateOutputShape(op);
        return d.get(0).getShape();
    }

    /** The smallest free flat buffer of at least {@code len} elements (removed from the list), or a new one. */
    private static INDArray take(List<INDArray> free, long len) {
        int best = -1;
        for (int i = 0; i < free.size(); i++) {
            long fl = free.get(i).length();
            if (fl >= len && (best < 0 || fl < free.get(best).length())) best = i;
        }
        return best < 0 ? Nd4j.createUninitialized(DataType.FLOAT, len) : free.remove(best);
    }

    /**
     * Runs the graph on {@code nhwc} ({@code [n,h,w,c]}, already preprocessed).
     *
     * @return the outputs in this executor's layout; views of internal buffers, valid until the next call
     */
    public INDArray[] forward(INDArray nhwcInput) {
        return forward(nhwcInput, 1, 0);
    }

    /**
     * As {@link #forward(INDArray)} on {@code nhwcInput * mul + add}, computed in place in the input buffer (no
     * per-call allocation), e.g. {@code 1/255, 0} for [0,255] pixels to [0,1].
     */
    public INDArray[] forward(INDArray nhwcInput, double mul, double add) {
        long[] s = nhwcInput.shape();
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            Plan plan = plans.get((int) s[0]);
            if (plan == null || !java.util.Arrays.equals(plan.input.shape(),
                    nhwc ? s : new long[] {s[0], s[3], s[1], s[2]})) {
                plan = new Plan(s[0], s[1], s[2], s[3]);
                plans.put((int) s[0], plan);
            }
            plan.input.assign(nhwc ? nhwcInput : nhwcInput.permute(0, 3, 1, 2));
            if (mul != 1) plan.input.muli(mul);
            if (add != 0) plan.input.addi(add);
            for (Runnable r : plan.steps) r.run();
            INDArray[] r = new INDArray[outputs.length];
            for (int i = 0; i < r.length; i++) r[i] = plan.values[outputs[i]];
            return r;
        }
    }

    /**
     * Wall time per op kind over {@code reps} forward passes of {@code nhwcInput} (after one untimed pass), in
     * ms per pass, largest first; for the bench's profile.
     */
    public Map<String, Double> profile(INDArray nhwcInput, int reps) {
        forward(nhwcInput);
        Plan plan = plans.get((int) nhwcInput.size(0));
        Map<String, Double> ms = new HashMap<>();
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            for (int r = 0; r < reps; r++) {
                plan.input.assign(nhwc ? nhwcInput : nhwcInput.permute(0, 3, 1, 2));
                for (int i = 0; i < plan.steps.size(); i++) {
                    long t = System.nanoTime();
                    plan.steps.get(i).run();
                    ms.merge(plan.stepNames.get(i), (System.nanoTime() - t) / 1e6 / reps, Double::sum);
                }
            }
        }
        Map<String, Double> sorted = new LinkedHashMap<>();
        ms.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed())
                .forEach(e -> sorted.put(e.getKey(), e.getValue()));
        return sorted;
    }

    /** {@link #forward}, each output averaged over space: fresh {@code [n, C]} arrays. */
    public INDArray[] pooled(INDArray nhwcInput) {
        return pooled(nhwcInput, 1, 0);
    }

    /** {@link #forward(INDArray, double, double)}, each output averaged over space: fresh {@code [n, C]} arrays. */
    public INDArray[] pooled(INDArray nhwcInput, double mul, double add) {
        INDArray[] maps = forward(nhwcInput, mul, add);
        INDArray[] r = new INDArray[maps.length];
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            for (int i = 0; i < r.length; i++) r[i] = nhwc ? maps[i].mean(1, 2) : maps[i].mean(2, 3);
        }
        return r;
    }
}
