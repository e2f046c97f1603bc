package dev.graft.common.base.internal;

import java.util.List;
import java.util.function.Function;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Builds a {@link FoldedExecutor} for a cut graph and checks it against the DL4J graph on a fixed random batch.
 */
public final class FoldedCheck {

    /** Allowed max abs difference, relative to the reference output's max abs value. */
    public static final double TOLERANCE = 1e-4;

    private FoldedCheck() {}

    /**
     * The outcome: {@code executor} is null when the graph is unsupported or the check failed ({@code reason} says
     * why); {@code relDiff} is the measured max abs difference / scale (NaN when not compared).
     */
    public record Result(FoldedExecutor executor, String reason, double relDiff) {}

    /**
     * @param graph the cut DL4J graph
     * @param outputs its output vertices
     * @param dl4jForward runs the DL4J graph on a preprocessed NHWC batch, returning each output in NHWC
     * @param preprocess [0,255] NHWC RGB to the network's input (NHWC)
     * @param size input height = width
     * @param nhwc layout the executor computes in
     */
    public static Result build(ComputationGraph graph, List<String> outputs, Function<INDArray, INDArray[]> dl4jForward,
                               Function<INDArray, INDArray> preprocess, int size, boolean nhwc) {
        FoldedExecutor ex;
        try {
            ex = FoldedExecutor.compile(graph, outputs, nhwc);
        } catch (FoldedExecutor.Unsupported e) {
            return new Result(null, "unsupported: " + e.getMessage(), Double.NaN);
        }
        double worst = 0;
        try {
            java.util.Random rnd = new java.util.Random(1234);
            float[] px = new float[2 * size * size * 3];
            for (int i = 0; i < px.length; i++) px[i] = rnd.nextInt(256);
            INDArray rgb = Nd4j.create(px, new long[] {2, size, size, 3}, 'c');
            INDArray x = preprocess.apply(rgb);
            INDArray[] ref = dl4jForward.apply(x);
            INDArray[] got = ex.forward(x);
            for (int i = 0; i < ref.length; i++) {
                INDArray g = nhwc || got[i].rank() != 4 ? got[i] : got[i].permute(0, 2, 3, 1);
                if (!java.util.Arrays.equals(g.shape(), ref[i].shape())) {
                    return new Result(null, "output " + outputs.get(i) + " shape " + java.util.Arrays.toString(g.shape())
                            + " != DL4J's " + java.util.Arrays.toString(ref[i].shape()), Double.NaN);
                }
                INDArray r = ref[i].castTo(DataType.FLOAT);
                double scale = Math.max(r.amaxNumber().doubleValue(), 1e-12);
                double diff = g.sub(r).amaxNumber().doubleValue() / scale;
                if (!(diff <= TOLERANCE)) {
                    return new Result(null, String.format("output %s differs from DL4J by %.3g of its scale (> %.0e)",
                            outputs.get(i), diff, TOLERANCE), diff);
                }
                worst = Math.max(worst, diff);
            }
        } catch (RuntimeException e) {
            return new Result(null, "failed on the check batch: " + e, Double.NaN);
        }
        return new Result(ex, null, worst);
    }
}
