package dev.graft.common.base;

import dev.graft.common.base.internal.FoldedExecutor;
import dev.graft.common.contract.BaseRef;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A graph already cut at its output vertices (one per cut): preprocess, one forward pass, average each output
 * over space. The forward pass runs on a {@link FoldedExecutor} when one was built and checked at load, else on the
 * DL4J graph. Not thread-safe.
 */
final class CutGraphNetwork implements BaseNetwork {

    private final ComputationGraph graph;
    private final Preprocessing preprocessing;
    private final boolean channelsLast;
    private final int inputSize;
    private final FoldedExecutor folded;
    private List<BaseRef> refs;

    CutGraphNetwork(ComputationGraph graph, Preprocessing preprocessing, boolean channelsLast, int inputSize,
                    FoldedExecutor folded) {
        this.graph = graph;
        this.folded = folded;
        this.preprocessing = preprocessing;
        this.channelsLast = channelsLast;
        this.inputSize = inputSize;
    }

    void setRefs(List<BaseRef> refs) {
        this.refs = List.copyOf(refs);
    }

    @Override
    public BaseRef ref() {
        return refs.get(0);
    }

    @Override
    public List<BaseRef> refs() {
        return refs;
    }

    @Override
    public String executor() {
        return folded != null ? "folded" : "dl4j";
    }

    Preprocessing preprocessing() {
        return preprocessing;
    }

    /** The folded executor, or null when the DL4J graph runs. */
    FoldedExecutor folded() {
        return folded;
    }

    /** The cut graph (for inspection and tests). */
    ComputationGraph graph() {
        return graph;
    }

    @Override
    public INDArray extract(INDArray rgb255) {
        return extractAll(rgb255).get(0);
    }

    @Override
    public List<INDArray> extractAll(INDArray rgb255) {
        long[] s = rgb255.shape();
        if (s.length != 4 || s[1] != inputSize || s[2] != inputSize || s[3] != 3) {
            throw new IllegalArgumentException("expected [n, " + inputSize + ", " + inputSize + ", 3] RGB NHWC, got "
                    + Arrays.toString(s));
        }
        if (folded != null) {
            // Elementwise preprocessing runs in the executor's input buffer: no per-batch allocation.
            double[] affine = preprocessing.elementwiseAffine();
            return List.of(affine != null ? folded.pooled(rgb255, affine[0], affine[1])
                    : folded.pooled(preprocessing.apply(rgb255)));
        }
        INDArray x = preprocessing.apply(rgb255);
        if (!channelsLast) x = x.permute(0, 3, 1, 2).dup('c');
        INDArray[] outs = graph.getNumOutputArrays() == 1 ? new INDArray[] {graph.outputSingle(false, x)}
                : graph.output(false, x);
        List<INDArray> features = new ArrayList<>(outs.length);
        for (INDArray out : outs) features.add(pool(out));
        return features;
    }

    private INDArray pool(INDArray out) {
        INDArray features = switch (out.rank()) {
            case 2 -> out;
            case 4 -> channelsLast ? out.mean(1, 2) : out.mean(2, 3);
            default -> throw new IllegalStateException("cut layer output has rank " + out.rank() + " "
                    + Arrays.toString(out.shape()) + "; expected 2 or 4");
        };
        return features.castTo(DataType.FLOAT);
    }

    @Override
    public void close() {
        // Native buffers are released by the GC; nothing is held beyond the graph itself.
    }
}
