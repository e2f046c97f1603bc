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
}
