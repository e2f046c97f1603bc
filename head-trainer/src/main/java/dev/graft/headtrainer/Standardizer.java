package dev.graft.headtrainer;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Per-column standardisation x' = (x - mean) / scale. {@code scale} is the population std, except
 * for (near) zero-variance columns (always-zero ReLU units), where it is 1: dividing by an epsilon
 * would blow up any tiny deviation at prediction time.
 */
public record Standardizer(float[] mean, float[] scale) {

    /** Columns with a std below this are treated as constant. */
    public static final double MIN_STD = 1e-6;

    public Standardizer {
        if (mean.length != scale.length) {
            throw new IllegalArgumentException("mean and scale lengths differ");
        }
        mean = mean.clone();
        scale = scale.clone();
    }

    /** Fits on the rows of x [n, dim], in double precision (deterministic, independent of ND4J threading). */
    public static Standardizer fit(INDArray x) {
        int n = (int) x.rows();
        int dim = (int) x.columns();
        float[] flat = x.dup('c').data().asFloat();
        double[] sum = new double[dim];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < dim; j++) {
                sum[j] += flat[i * dim + j];
            }
        }
        double[] mu = new double[dim];
        for (int j = 0; j < dim; j++) {
            mu[j] = n == 0 ? 0 : sum[j] / n;
        }
        double[] ss = new double[dim];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < dim; j++) {
                double d = flat[i * dim + j] - mu[j];
                ss[j] += d * d;
            }
        }
        float[] mean = new float[dim];
        float[] scale = new float[dim];
        for (int j = 0; j < dim; j++) {
            double sd = n == 0 ? 0 : Math.sqrt(ss[j] / n);
            mean[j] = (float) mu[j];
            scale[j] = sd < MIN_STD ? 1f : (float) sd;
        }
        return new Standardizer(mean, scale);
    }

    public int dim() {
        return mean.length;
    }

    /** A new array (x is not modified). */
    public INDArray apply(INDArray x) {
        INDArray m = Nd4j.create(mean, new long[] {1, mean.length}, DataType.FLOAT);
        INDArray s = Nd4j.create(scale, new long[] {1, scale.length}, DataType.FLOAT);
        return x.castTo(DataType.FLOAT).subRowVector(m).diviRowVector(s);
    }

    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] scale() {
        return scale.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Standardizer s && Arrays.equals(mean, s.mean) && Arrays.equals(scale, s.scale);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(mean) + Arrays.hashCode(scale);
    }

    @Override
    public String toString() {
        return "Standardizer[dim=" + mean.length + "]";
    }
}
