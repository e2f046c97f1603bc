package dev.graft.common.image;

import java.util.Objects;

/**
 * Decoded 8-bit RGB pixels, interleaved in HWC order: the pixel at (x, y) is
 * {@code rgb[3*(y*width + x)] .. +2} = R, G, B (unsigned bytes).
 */
public record RgbImage(int width, int height, byte[] rgb) {
    public RgbImage {
        Objects.requireNonNull(rgb, "rgb");
        if (width <= 0 || height <= 0 || rgb.length != 3L * width * height) {
            throw new IllegalArgumentException("rgb length " + rgb.length + " does not match " + width + "x" + height + "x3");
        }
    }

    /** Channel c (0=R, 1=G, 2=B) of pixel (x, y) as 0..255. */
    public int get(int x, int y, int c) {
        return rgb[3 * (y * width + x) + c] & 0xff;
    }
}
