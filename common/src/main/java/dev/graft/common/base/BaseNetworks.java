package dev.graft.common.base;

import dev.graft.common.base.internal.FoldedCheck;
import dev.graft.common.base.internal.FoldedExecutor;
import dev.graft.common.contract.BaseRef;
import dev.graft.common.os.OneOffThread;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.modelimport.keras.KerasModelImport;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Loads base networks from a spec ({@link BaseSpec}), cut at a layer.
 *
 * <p>Zoo weights come from DL4J's cache ({@code ~/.deeplearning4j}); set {@code -Dgraft.offline=true} or
 * {@code GRAFT_OFFLINE=1} to fail fast instead of downloading.
 */
public final class BaseNetworks {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(BaseNetworks.class);

    private BaseNetworks() {}

    /** A full (uncut) imported graph and what the loader knows about it. */
    public record Source(BaseSpec spec, ComputationGraph graph, byte[] weightsDigest, int nativeSize,
                         Preprocessing preprocessing, boolean channelsLast) {}

    /**
     * @param spec see {@link BaseSpec}; null = {@link BaseSpec#DEFAULT}
     * @param cut layer name; null = the network's bottleneck
     * @param inputSize square input size; 0 = the model's native size
     * @param cacheDir where nsfwjs models are cached (see {@link NsfwjsModels#defaultCacheDir()})
     */
    public static BaseNetwork load(String spec, String cut, int inputSize, Path cacheDir) {
        return load(loadSource(BaseSpec.parse(spec), cacheDir, defaultZooDir(), offline()), cut, inputSize);
    }

    /**
     * Cuts an already loaded source (the source graph is not modified; load it once, cut it many ways). The forward
     * pass runs on the folded executor unless {@code -Dgraft.base.executor=dl4j} (see {@link #EXECUTOR_PROPERTY}).
     */
    public static BaseNetwork load(Source src, String cut, int inputSize) {
        return loadCuts(src, Collections.singletonList(cut), inputSize);
    }

    /** As {@link #load(Source, String, int)} with the executor given: {@code folded} or {@code dl4j}. */
    public static BaseNetwork load(Source src, String cut, int inputSize, String executor) {
        return loadCuts(src, Collections.singletonList(cut), inputSize, executor);
    }

    /**
     * Cuts an already loaded source at several layers at once: the returned network runs the base once per batch
     * and pools every cut ({@link BaseNetwork#extractAll}); each cut's {@link BaseRef} (in {@code cuts} order) has
     * the id a single-cut load of that cut gives. Runs on the folded executor unless
     * {@code -Dgraft.base.executor=dl4j}.
     *
     * @param cuts layer names, distinct; a null or blank entry = the network's bottleneck
     */
    public static BaseNetwork loadCuts(Source src, List<String> cuts, int inputSize) {
        return loadCuts(src, cuts, inputSize, System.getProperty(EXECUTOR_PROPERTY, "folded"));
    }

    /** As {@link #loadCuts(Source, List, int)} with the executor given: {@code folded} or {@code dl4j}. */
    public static BaseNetwork loadCuts(Source src, List<String> cuts, int inputSize, String executor) {
        return OneOffThread.call(LOADER_THREAD, () -> cutHere(src, cuts, inputSize, executor));
    }

    /**
     * Names the thread that imports, cuts and folds a base: the native work of a load runs there and not on the
     * caller's thread, whose OpenMP pool would outlive the load (see {@link OneOffThread}).
     */
    public static final String LOADER_THREAD = "graft-base-load";

    private static BaseNetwork cutHere(Source src, List<String> cuts, int inputSize, String executor) {
        if (cuts == null || cuts.isEmpty()) throw new IllegalArgumentException("at least one cut layer is needed");
        ComputationGraph full = src.graph();
        List<String> cs = new ArrayList<>(cuts.size());
        for (String cut : cuts) {
            String c = cut == null || cut.isBlank() ? defaultCut(src) : cut.trim();
            checkLayer(full, c);
            if (cs.contains(c)) throw new IllegalArgumentException("cut '" + c + "' is listed twice");
            cs.add(c);
        }
        int size = inputSize > 0 ? inputSize : src.nativeSize();
        if (size <= 0) {
            throw new IllegalArgumentException(src.spec() + ": the model does not fix its input size; pass one");
        }
        Set<String> keep = new LinkedHashSet<>();
        for (String c : cs) keep.addAll(ancestors(full.getConfiguration(), c));
        if (size != src.nativeSize()) {
            for (String v : keep) {
                if (isHeadVertex(full.getConfiguration().getVertices().get(v), true)) {
                    throw new IllegalArgumentException(src.spec() + ": cut '" + String.join(",", cs) + "' includes '"
                            + v + "' (dense/flatten), which only works at the native input size " + src.nativeSize()
                            + ", not " + size);
                }
            }
        }
        ComputationGraph cutGraph = cutGraph(full, cs, keep);
        boolean channelsLast = src.channelsLast();
        if (channelsLast && (Boolean.getBoolean("graft.base.nchw") || hasMerge(cutGraph))) {
            ComputationGraph nchw = toNchw(cutGraph);
            if (nchw != null) {
                cutGraph = nchw;
                channelsLast = false;
            }
        }
        FoldedExecutor folded = executor(executor, src, cutGraph, cs, size, channelsLast);
        CutGraphNetwork net = new CutGraphNetwork(cutGraph, src.preprocessing(), channelsLast, size, folded);
        int[] dims = new int[cs.size()];
        boolean inferred = true;
        for (int i = 0; i < cs.size(); i++) {
            dims[i] = featureDim(cutGraph, cs.get(i), size, channelsLast);
            inferred &= dims[i] > 0;
        }
        if (!inferred) {
            List<BaseRef> provisional = new ArrayList<>();
            for (String c : cs) provisional.add(new BaseRef("?", src.spec().toString(), c, size, 1, src.preprocessing().id()));
            net.setRefs(provisional);
            List<INDArray> probe = net.extractAll(Nd4j.zeros(DataType.FLOAT, 1, size, size, 3));
            for (int i = 0; i < cs.size(); i++) dims[i] = (int) probe.get(i).size(1);
        }
        List<BaseRef> refs = new ArrayList<>(cs.size());
        for (int i = 0; i < cs.size(); i++) {
            String c = cs.get(i);
            refs.add(new BaseRef(baseId(src, c, size), src.spec().toString(), c, size, dims[i],
                    src.preprocessing().id()));
        }
        net.setRefs(refs);
        return net;
    }

    /**
     * A trainable copy of the source's graph cut at {@code cut} (output = the cut layer, nothing frozen, layout as
     * imported), e.g. to fine-tune it. The source is not modified.
     */
    public static ComputationGraph cutGraphCopy(Source src, String cut) {
        ComputationGraph full = src.graph();
        checkLayer(full, cut);
        return cutGraph(full, List.of(cut), ancestors(full.getConfiguration(), cut)).clone();
    }

    /** {@code graft.base.executor}: {@code folded} (default; falls back to DL4J when unsupported) or {@code dl4j}. */
    public static final String EXECUTOR_PROPERTY = "graft.base.executor";
    /** {@code graft.base.executor.layout}: {@code nhwc} or {@code nchw} (default), the folded executor's layout. */
    public static final String LAYOUT_PROPERTY = "graft.base.executor.layout";

    /**
     * The folded executor for a cut graph, checked against the graph on a fixed random batch; null (DL4J runs)
     * when switched off, unsupported or off by more than {@link FoldedCheck#TOLERANCE}.
     */
    private static FoldedExecutor executor(String executor, Source src, ComputationGraph cutGraph, List<String> cuts,
                                           int size, boolean channelsLast) {
        String mode = executor.trim().toLowerCase(java.util.Locale.ROOT);
        if (mode.equals("dl4j")) return null;
        if (!mode.equals("folded")) {
            throw new IllegalArgumentException(EXECUTOR_PROPERTY + "=" + mode + ": expected folded or dl4j");
        }
        boolean nhwc = System.getProperty(LAYOUT_PROPERTY, "nchw").trim().equalsIgnoreCase("nhwc");
        FoldedCheck.Result r = FoldedCheck.build(cutGraph, cuts, x -> {
            INDArray in = channelsLast ? x : x.permute(0, 3, 1, 2).dup('c');
            INDArray[] out = cutGraph.output(false, in);
            if (!channelsLast) {
                for (int i = 0; i < out.length; i++) if (out[i].rank() == 4) out[i] = out[i].permute(0, 2, 3, 1);
            }
            return out;
        }, src.preprocessing()::apply, size, nhwc);
        if (r.executor() == null) {
            if (r.reason().startsWith("unsupported")) {
                LOG.info("{} cut at {}: DL4J graph runs (folded executor {})", src.spec(), cuts, r.reason());
            } else {
                LOG.warn("{} cut at {}: folded executor rejected, DL4J graph runs instead: {}", src.spec(), cuts,
                        r.reason());
            }
            return null;
        }
        LOG.debug("{} cut at {}: folded executor ({}), max diff {} of scale", src.spec(), cuts, r.executor(),
                r.relDiff());
        return r.executor();
    }

    /**
     * Wall ms per op kind of one forward pass (mean over {@code reps}, largest first) when {@code net} runs on the
     * folded executor; empty otherwise. For benchmarks.
     */
    public static java.util.Map<String, Double> profile(BaseNetwork net, INDArray rgb255, int reps) {
        if (!(net instanceof CutGraphNetwork c) || c.folded() == null) return java.util.Map.of();
        return c.folded().profile(c.preprocessing().apply(rgb255), reps);
    }

    /** Loads the full graph of a spec (no cut). */
    public static Source loadSource(BaseSpec spec, Path cacheDir, Path zooDir, boolean offline) {
        return OneOffThread.call(LOADER_THREAD, () -> importHere(spec, cacheDir, zooDir, offline));
    }

    private static Source importHere(BaseSpec spec, Path cacheDir, Path zooDir, boolean offline) {
        Preprocessing explicit = spec.preprocessing();
        switch (spec.scheme()) {
            case "nsfwjs", "tfjs" -> {
                Path json = spec.scheme().equals("nsfwjs") ? NsfwjsModels.modelJson(spec.name(), cacheDir) : spec.path();
                TfjsLayersImporter.Imported imp = TfjsLayersImporter.importModel(json);
                return new Source(spec, imp.graph(), imp.weightsSha256(), imp.nativeSize(),
                        explicit != null ? explicit : Preprocessing.UNIT, true);
            }
            case "keras" -> {
                try {
                    ComputationGraph g = KerasModelImport.importKerasModelAndWeights(spec.path().toString(), false);
                    return new Source(spec, g, fileDigest(spec.path()), 0,
                            explicit != null ? explicit : Preprocessing.UNIT, channelsLast(g, true));
                } catch (Exception e) {
                    throw new IllegalArgumentException("cannot import Keras model " + spec.path() + ": " + e, e);
                }
            }
            case "dl4j" -> {
                try {
                    ComputationGraph g = ModelSerializer.restoreComputationGraph(spec.path().toFile(), false);
                    return new Source(spec, g, fileDigest(spec.path()), 0,
                            explicit != null ? explicit : Preprocessing.UNIT, channelsLast(g, false));
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read DL4J ComputationGraph " + spec.path() + ": " + e, e);
                }
            }
            case "zoo" -> {
                ComputationGraph g = ZooBases.loadPretrained(spec.name(), zooDir, offline);
                byte[] digest = TfjsLayersImporter.sha256().digest(("dl4j-zoo:" + spec.name() + ":imagenet:adler32="
                        + ZooBases.checksum(spec.name())).getBytes(StandardCharsets.UTF_8));
                return new Source(spec, g, digest, ZooBases.nativeSize(spec.name()),
                        ZooBases.preprocessing(spec.name()), false);
            }
            case BaseSpec.GRAFT_BASE -> throw new IllegalArgumentException(spec + ": a published base version is "
                    + "fetched from the model registry; load it with BaseResolver");
            default -> throw new IllegalArgumentException("unknown scheme " + spec.scheme());
        }
    }

    /**
     * Vertex names of a spec's full graph in topological order (network inputs included). Zoo specs are listed
     * from the architecture alone (no weights needed).
     */
    public static List<String> layerNames(String spec, Path cacheDir) {
        BaseSpec s = BaseSpec.parse(spec);
        ComputationGraph g = s.scheme().equals("zoo") ? ZooBases.untrained(s.name())
                : loadSource(s, cacheDir, defaultZooDir(), true).graph();
        return List.copyOf(g.getConfiguration().getTopologicalOrderStr());
    }

    /** The default cut of a source: {@code out_relu} for nsfwjs mobilenet_v2, else the layer before the head. */
    public static String defaultCut(Source src) {
        if (src.spec().scheme().equals("nsfwjs") && src.spec().name().equals("mobilenet_v2")) return "out_relu";
        ComputationGraphConfiguration conf = src.graph().getConfiguration();
        if (conf.getNetworkOutputs().size() != 1) {
            throw new IllegalArgumentException(src.spec() + " has " + conf.getNetworkOutputs().size()
                    + " outputs; pass a cut layer");
        }
        String v = conf.getNetworkOutputs().get(0);
        // Walk back over the head: dense/output/dropout/flatten/global pooling/average pooling.
        while (isHeadVertex(conf.getVertices().get(v), false)) {
            List<String> in = conf.getVertexInputs().get(v);
            if (in == null || in.size() != 1 || conf.getNetworkInputs().contains(in.get(0))) break;
            v = in.get(0);
        }
        return v;
    }

    /**
     * Sets how many OpenMP threads the forward passes started from the calling thread use (oneDNN's and ND4J's
     * OpenMP regions; OpenMP keeps this count per thread, so call it on the thread that runs the passes).
     */
    public static void setOmpThreadsOfThisThread(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        org.nd4j.nativeblas.NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
    }

    /** Default nsfwjs cache ({@code $GRAFT_HOME/models}). */
    public static Path defaultCacheDir() {
        return NsfwjsModels.defaultCacheDir();
    }

    /** DL4J's resource directory, normally {@code ~/.deeplearning4j}. */
    public static Path defaultZooDir() {
        return org.deeplearning4j.common.resources.DL4JResources.getBaseDirectory().toPath();
    }

    static boolean offline() {
        String env = System.getenv("GRAFT_OFFLINE");
        return Boolean.getBoolean("graft.offline") || "1".equals(env) || "true".equalsIgnoreCase(env);
    }

    private static boolean isHeadVertex(GraphVertex gv, boolean sizeDependentOnly) {
        if (gv instanceof PreprocessorVertex) return true; // Keras Flatten
        if (!(gv instanceof LayerVertex lv)) return false;
        Layer l = lv.getLayerConf().getLayer();
        if (l instanceof DenseLayer || l instanceof BaseOutputLayer || l instanceof LossLayer) return true;
        if (sizeDependentOnly) return false;
        if (l instanceof DropoutLayer || l instanceof GlobalPoolingLayer) return true;
        return l instanceof SubsamplingLayer s && s.getPoolingType() == PoolingType.AVG;
    }

    private static void checkLayer(ComputationGraph g, String cut) {
        ComputationGraphConfiguration conf = g.getConfiguration();
        if (!conf.getVertices().containsKey(cut)) {
            List<String> names = conf.getTopologicalOrderStr();
            // Block outputs (merge vertices) are the usual cuts; then the last few vertices.
            Set<String> sample = new LinkedHashSet<>();
            for (String n : names) {
                GraphVertex gv = conf.getVertices().get(n);
                if (gv instanceof org.deeplearning4j.nn.conf.graph.ElementWiseVertex
                        || gv instanceof org.deeplearning4j.nn.conf.graph.MergeVertex) sample.add(n);
            }
            sample.addAll(names.subList(Math.max(0, names.size() - 8), names.size()));
            throw new IllegalArgumentException("unknown cut layer '" + cut + "'; the network has " + names.size()
                    + " vertices, e.g. " + String.join(", ", sample) + " (list them with BaseNetworks.layerNames)");
        }
    }

    static Set<String> ancestors(ComputationGraphConfiguration conf, String cut) {
        Set<String> keep = new LinkedHashSet<>();
        Deque<String> todo = new ArrayDeque<>(List.of(cut));
        Map<String, List<String>> inputs = conf.getVertexInputs();
        while (!todo.isEmpty()) {
            String v = todo.pop();
            if (!keep.add(v)) continue;
            List<String> in = inputs.get(v);
            if (in != null) todo.addAll(in);
        }
        keep.removeAll(conf.getNetworkInputs());
        return keep;
    }

    private static ComputationGraph cutGraph(ComputationGraph full, List<String> cuts, Set<String> keep) {
        ComputationGraphConfiguration conf = full.getConfiguration();
        if (conf.getNetworkOutputs().equals(cuts) && keep.size() == conf.getVertices().size()) {
            return full.clone();
        }
        TransferLearning.GraphBuilder b = new TransferLearning.GraphBuilder(full);
        for (String v : conf.getVertices().keySet()) {
            if (!keep.contains(v)) b.removeVertexAndConnections(v);
        }
        return b.setOutputs(cuts.toArray(String[]::new)).build();
    }

    /**
     * The same graph computing in NCHW, or null when the graph
     * has a vertex whose behaviour depends on the layout in ways not converted here (dense, flatten, concat, ...).
     * Parameters are layout-independent in DL4J and are copied as they are. Off by default
     * ({@code -Dgraft.base.nchw=true} turns it on): the notes measured ~20% less CPU with the generic ND4J binary,
     * but with the oneDNN binary this project uses it measured no faster (within noise).
     */
    static ComputationGraph toNchw(ComputationGraph g) {
        ComputationGraphConfiguration conf = g.getConfiguration().clone();
        for (GraphVertex gv : conf.getVertices().values()) {
            if (gv instanceof org.deeplearning4j.nn.conf.graph.ElementWiseVertex) continue;
            if (gv instanceof org.deeplearning4j.nn.conf.graph.MergeVertex mv) {
                mv.setMergeAxis(1);
                continue;
            }
            if (!(gv instanceof LayerVertex lv) || lv.getPreProcessor() != null) return null;
            Layer l = lv.getLayerConf().getLayer();
            if (l instanceof ConvolutionLayer cl) {
                cl.setCnn2dDataFormat(CNN2DFormat.NCHW);
            } else if (l instanceof SubsamplingLayer sl) {
                sl.setCnn2dDataFormat(CNN2DFormat.NCHW);
            } else if (l instanceof org.deeplearning4j.nn.conf.layers.BatchNormalization bn) {
                bn.setCnn2DFormat(CNN2DFormat.NCHW);
            } else if (l instanceof org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer zp) {
                zp.setDataFormat(CNN2DFormat.NCHW);
            } else if (!(l instanceof org.deeplearning4j.nn.conf.layers.ActivationLayer)
                    && !(l instanceof DropoutLayer)) {
                return null;
            }
        }
        ComputationGraph out = new ComputationGraph(conf);
        out.init(g.params().dup(), false);
        return out;
    }

    /** DL4J concatenates NHWC activations on the wrong axis (InceptionV3 fails); NCHW concatenation works. */
    private static boolean hasMerge(ComputationGraph g) {
        return g.getConfiguration().getVertices().values().stream()
                .anyMatch(v -> v instanceof org.deeplearning4j.nn.conf.graph.MergeVertex);
    }

    /** Width of the cut's output from shape inference, or -1 when it cannot be inferred (then a forward pass). */
    private static int featureDim(ComputationGraph g, String cut, int size, boolean channelsLast) {
        try {
            InputType in = InputType.convolutional(size, size, 3, channelsLast ? CNN2DFormat.NHWC : CNN2DFormat.NCHW);
            InputType out = g.getConfiguration().getLayerActivationTypes(in).get(cut);
            if (out instanceof InputType.InputTypeConvolutional cv) return (int) cv.getChannels();
            if (out instanceof InputType.InputTypeFeedForward ff) return (int) ff.getSize();
        } catch (RuntimeException e) {
            // fall through
        }
        return -1;
    }

    static boolean channelsLast(ComputationGraph g, boolean dflt) {
        for (GraphVertex gv : g.getConfiguration().getVertices().values()) {
            if (gv instanceof LayerVertex lv && lv.getLayerConf().getLayer() instanceof ConvolutionLayer cl) {
                return cl.getCnn2dDataFormat() == CNN2DFormat.NHWC;
            }
        }
        return dflt;
    }

    static byte[] fileDigest(Path p) throws IOException {
        MessageDigest sha = TfjsLayersImporter.sha256();
        try (InputStream in = Files.newInputStream(p)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) sha.update(buf, 0, n);
        }
        return sha.digest();
    }

    static String baseId(Source src, String cut, int size) {
        MessageDigest sha = TfjsLayersImporter.sha256();
        sha.update(src.weightsDigest());
        sha.update(("\ncut=" + cut + "\nsize=" + size + "\npre=" + src.preprocessing().id())
                .getBytes(StandardCharsets.UTF_8));
        String hex = HexFormat.of().formatHex(sha.digest()).substring(0, 16);
        return src.spec().shortName() + "-" + size + "-" + cut + "-" + hex;
    }
}
