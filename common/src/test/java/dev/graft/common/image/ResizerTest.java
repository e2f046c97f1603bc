package dev.graft.common.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class ResizerTest {

    private static RgbImage gray(int w, int h, int... values) {
        byte[] rgb = new byte[3 * w * h];
        for (int i = 0; i < w * h; i++) {
            rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = (byte) values[i];
        }
        return new RgbImage(w, h, rgb);
    }

    @Test
    void constantStaysConstant() {
        byte[] rgb = new byte[3 * 7 * 5];
        for (int i = 0; i < 7 * 5; i++) {
            rgb[3 * i] = (byte) 200;
            rgb[3 * i + 1] = 10;
            rgb[3 * i + 2] = (byte) 255;
        }
        float[] out = Resizer.resize(new RgbImage(7, 5, rgb), 13);
        for (int i = 0; i < 13 * 13; i++) {
            assertThat(out[3 * i]).isEqualTo(200f);
            assertThat(out[3 * i + 1]).isEqualTo(10f);
            assertThat(out[3 * i + 2]).isEqualTo(255f);
        }
    }

    @Test
    void alignCornersPreservesCorners() {
        RgbImage src = gray(4, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
        for (int size : new int[] {2, 5, 224}) {
            float[] out = Resizer.resize(src, size);
            assertThat(out[0]).isEqualTo(1f);
            assertThat(out[3 * (size - 1)]).isEqualTo(4f);
            assertThat(out[3 * (size * (size - 1))]).isEqualTo(9f);
            assertThat(out[3 * (size * size - 1)]).isEqualTo(12f);
        }
    }

    @Test
    void twoByTwoToThreeByThreeKnownValues() {
        // [[0, 100], [200, 40]] -> midpoints and centre as align-corners bilinear gives them
        float[] out = Resizer.resize(gray(2, 2, 0, 100, 200, 40), 3);
        float[] expected = {
            0, 50, 100,
            100, 85, 70,
            200, 120, 40};
        for (int i = 0; i < 9; i++) {
            assertThat(out[3 * i]).as("pixel %d", i).isCloseTo(expected[i], within(1e-5f));
            assertThat(out[3 * i + 1]).isEqualTo(out[3 * i]);
            assertThat(out[3 * i + 2]).isEqualTo(out[3 * i]);
        }
    }

    @Test
    void identityWhenSizeEquals() {
        byte[] rgb = new byte[3 * 4 * 4];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (byte) (i * 37);
        }
        float[] out = Resizer.resize(new RgbImage(4, 4, rgb), 4);
        for (int i = 0; i < rgb.length; i++) {
            assertThat(out[i]).isEqualTo((float) (rgb[i] & 0xff));
        }
    }

    @Test
    void nonSquareIsStretchedAndBatchesFillOneBufferAtOffsets() {
        RgbImage wide = gray(4, 1, 0, 30, 60, 90);
        RgbImage other = gray(1, 1, 77);
        int per = Resizer.floatsPerImage(4);
        float[] batch = new float[2 * per];
        Resizer.resizeInto(wide, 4, batch, 0);
        Resizer.resizeInto(other, 4, batch, per);
        // every row of the stretched 4x1 image is the source row
        for (int r = 0; r < 4; r++) {
            for (int c = 0; c < 4; c++) {
                assertThat(batch[3 * (r * 4 + c)]).isEqualTo(30f * c);
            }
        }
        for (int i = per; i < 2 * per; i++) {
            assertThat(batch[i]).isEqualTo(77f);
        }
        assertThatThrownBy(() -> Resizer.resizeInto(other, 4, batch, per + 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** Straight 4-tap transcription of the tfjs CPU kernel (alignCorners=true, halfPixelCenters=false). */
    private static float[] reference(RgbImage src, int outH, int outW) {
        int inH = src.height();
        int inW = src.width();
        double hs = outH > 1 ? (inH - 1) / (double) (outH - 1) : inH / (double) outH;
        double ws = outW > 1 ? (inW - 1) / (double) (outW - 1) : inW / (double) outW;
        float[] out = new float[outH * outW * 3];
        int p = 0;
        for (int r = 0; r < outH; r++) {
            double sr = hs * r;
            int r0 = (int) Math.floor(sr);
            int r1 = Math.min(inH - 1, (int) Math.ceil(sr));
            double fr = sr - r0;
            for (int c = 0; c < outW; c++) {
                double sc = ws * c;
                int c0 = (int) Math.floor(sc);
                int c1 = Math.min(inW - 1, (int) Math.ceil(sc));
                double fc = sc - c0;
                for (int ch = 0; ch < 3; ch++) {
                    double tl = src.get(c0, r0, ch);
                    double tr = src.get(c1, r0, ch);
                    double bl = src.get(c0, r1, ch);
                    double br = src.get(c1, r1, ch);
                    double top = tl + (tr - tl) * fc;
                    double bottom = bl + (br - bl) * fc;
                    out[p++] = (float) (top + (bottom - top) * fr);
                }
            }
        }
        return out;
    }

    @Test
    void matchesFourTapReferenceExactlyUpAndDown() {
        java.util.Random rnd = new java.util.Random(42);
        int[][] shapes = {{28, 28, 224, 224}, {300, 200, 224, 224}, {5, 97, 13, 13}, {1, 1, 3, 3}, {64, 3, 1, 1}, {7, 9, 7, 9}};
        for (int[] sh : shapes) {
            byte[] rgb = new byte[3 * sh[0] * sh[1]];
            rnd.nextBytes(rgb);
            RgbImage img = new RgbImage(sh[1], sh[0], rgb);
            float[] got = new float[3 * sh[2] * sh[3] + 5];
            Resizer.resizeInto(img, sh[2], sh[3], got, 5);
            float[] want = reference(img, sh[2], sh[3]);
            // Arrays.mismatch compares float bits: -1 means bit-identical
            assertThat(java.util.Arrays.mismatch(got, 5, got.length, want, 0, want.length))
                    .as("first differing index for %s", java.util.Arrays.toString(sh)).isEqualTo(-1);
        }
    }
}
