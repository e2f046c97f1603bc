package dev.graft.common.image;

import java.util.Objects;

/**
 * Bilinear resize with <em>align-corners</em> semantics, as TensorFlow's
 * {@code resizeBilinear(images, size, alignCorners=true)} (half-pixel centers off), which nsfwjs applies
 * to its input: output pixel {@code (r, c)} samples the source at
 * {@code (r*(inH-1)/(outH-1), c*(inW-1)/(outW-1))}, so the four corner pixels map exactly onto the
 * source corners. Arithmetic follows the tfjs CPU kernel (double precision, stored as float).
 *
 * <p>Non-square inputs are <b>stretched</b> to the square output (no crop, no letterbox), as nsfwjs does.
 *
 * <p>Output is float values in [0, 255] in HWC order (R, G, B per pixel), written into a caller-provided
 * array at an offset, so a batch of n images fills one {@code [n, size, size, 3]} buffer: image i goes
 * to {@code offset = i * size * size * 3}. Normalisation (e.g. x/255) is left to the caller.
 */
public final class Resizer {
    private Resizer() {}

    /** Number of floats one image occupies at this size. */
    public static int floatsPerImage(int size) {
        return Math.multiplyExact(Math.multiplyExact(size, size), 3);
    }

    /** Resizes {@code src} to {@code size x size} into {@code dst[offset ..]}. */
    public static void resizeInto(RgbImage src, int size, float[] dst, int offset) {
        resizeInto(src, size, size, dst, offset);
    }

    /** Convenience: a new {@code [size, size, 3]} array. */
    public static float[] resize(RgbImage src, int size) {
        float[] out = new float[floatsPerImage(size)];
        resizeInto(src, size, out, 0);
        return out;
    }

    /** Resizes {@code src} to {@code outH x outW} into {@code dst[offset .. offset + outH*outW*3)}. */
    public static void resizeInto(RgbImage src, int outH, int outW, float[] dst, int offset) {
        Objects.requireNonNull(src, "src");
        Objects.requireNonNull(dst, "dst");
        if (outH <= 0 || outW <= 0) {
            throw new IllegalArgumentException("output size must be positive: " + outH + "x" + outW);
        }
        long need = 3L * outH * outW;
        if (offset < 0 || offset + need > dst.length) {
            throw new IllegalArgumentException("dst has " + dst.length + " floats; need " + need + " at offset " + offset);
        }
        int inH = src.height();
        int inW = src.width();
        byte[] rgb = src.rgb();
        if (inH == outH && inW == outW) {
            // align-corners at scale 1 samples every source pixel with weight 0: the formula is the identity.
            // An int bound makes it a counted loop the JIT vectorises (with the long one: ~1 ns per value).
            int n = (int) need;
            for (int i = 0; i < n; i++) {
                dst[offset + i] = rgb[i] & 0xff;
            }
            return;
        }

        int[] x0 = new int[outW];
        int[] x1 = new int[outW];
        double[] fx = new double[outW];
        axis(inW, outW, x0, x1, fx);
        int[] y0 = new int[outH];
        int[] y1 = new int[outH];
        double[] fy = new double[outH];
        axis(inH, outH, y0, y1, fy);

        // Separable but bit-identical to the 4-tap formula: each output value is
        // top + (bottom - top) * fy with top/bottom the horizontally interpolated source rows, exactly as
        // tfjs computes them. Rows are interpolated once and kept in a two-slot cache (y0/y1 are monotonic).
        int rowLen = 3 * outW;
        double[][] slot = {new double[rowLen], new double[rowLen]};
        int[] slotRow = {-1, -1};
        int p = offset;
        for (int r = 0; r < outH; r++) {
            double[] top = row(y0[r], y1[r], slot, slotRow, rgb, inW, x0, x1, fx);
            double[] bottom = row(y1[r], y0[r], slot, slotRow, rgb, inW, x0, x1, fx);
            double wy = fy[r];
            for (int i = 0; i < rowLen; i++) {
                double t = top[i];
                dst[p++] = (float) (t + (bottom[i] - t) * wy);
            }
        }
    }

    /** Horizontally interpolated source row {@code y}, from the cache or computed into the slot not holding {@code keep}. */
    private static double[] row(int y, int keep, double[][] slot, int[] slotRow, byte[] rgb, int inW,
                                int[] x0, int[] x1, double[] fx) {
        if (slotRow[0] == y) {
            return slot[0];
        }
        if (slotRow[1] == y) {
            return slot[1];
        }
        int s = slotRow[0] == keep && keep != y ? 1 : 0;
        double[] out = slot[s];
        slotRow[s] = y;
        int base = 3 * y * inW;
        int q = 0;
        for (int c = 0; c < x0.length; c++) {
            int a = base + 3 * x0[c];
            int b = base + 3 * x1[c];
            double w = fx[c];
            for (int ch = 0; ch < 3; ch++) {
                double va = rgb[a + ch] & 0xff;
                out[q++] = va + ((rgb[b + ch] & 0xff) - va) * w;
            }
        }
        return out;
    }

    /** Source indices and weights along one axis, as tfjs' resizeBilinear with alignCorners. */
    private static void axis(int in, int out, int[] lo, int[] hi, double[] frac) {
        double effIn = out > 1 ? in - 1 : in;
        double effOut = out > 1 ? out - 1 : out;
        double scale = effIn / effOut;
        for (int i = 0; i < out; i++) {
            double s = scale * i;
            int f = (int) Math.floor(s);
            lo[i] = Math.min(f, in - 1);
            hi[i] = Math.min(in - 1, (int) Math.ceil(s));
            frac[i] = s - f;
        }
    }
}
