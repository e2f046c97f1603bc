package dev.graft.headtrainer;

import dev.graft.common.contract.Split;
import java.util.Random;

/**
 * Synthetic "bottleneck" vectors: k Gaussian blobs in dim dimensions, passed through ReLU (so they
 * are non-negative like real bottlenecks), with some columns always zero. Class c has mean
 * {@code separation} on its own block of {@code dim/k} columns and 0.5 elsewhere; noise sd 1.
 * With separation 3 the classes are separable well above 95 % (the class signal is spread over
 * dim/k columns, so the Bayes error is tiny); tests assert 0.9.
 */
final class Blobs {

    private Blobs() {}

    static float[] vector(Random r, int c, int k, int dim, double separation, int deadColumns) {
        float[] v = new float[dim];
        int block = (dim - deadColumns) / k;
        for (int j = deadColumns; j < dim; j++) {
            int owner = (j - deadColumns) / Math.max(1, block);
            double mean = owner == c ? separation : 0.5;
            v[j] = (float) Math.max(0, mean + r.nextGaussian());
        }
        return v;
    }

    /** Adds perClass rows of each class in [from, to) with the given split; labels "c0", "c1", ... */
    static void fill(VectorStore store, Random r, int from, int to, int k, int perClass, Split split, String prefix) {
        for (int i = 0; i < perClass; i++) {
            for (int c = from; c < to; c++) {
                store.add(prefix + "-" + c + "-" + i, "c" + c, split,
                        vector(r, c, k, store.dim(), 3.0, store.dim() / 10));
            }
        }
    }
}
