package dev.graft.common.image;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Set;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Decodes the PNGs a pipeline sees most (8-bit gray, gray+alpha, RGB or RGBA, not interlaced) straight from their
 * bytes: zlib inflate (the JDK's native zlib), the five row filters, then the conversion {@link ImageDecoder}
 * documents (gray replicated, alpha over white). ImageIO's PNG reader spent ~150 µs on a 96×96 RGB PNG whose
 * inflate alone takes ~18 µs; this path takes what the inflate and one pass over the pixels take.
 *
 * <p>It decides only clean files: anything else returns {@code null}, and {@link ImageDecoder} hands the bytes to
 * ImageIO, which decides as it always did. Declined: other bit depths, palettes, interlacing, any chunk outside
 * {@link #HARMLESS} (a {@code tRNS} makes ImageIO add alpha, an {@code iCCP} may change the colour space), a chunk
 * running past the end of the data, no {@code IEND}, bytes after it, a zlib error, too few pixel bytes, an unknown
 * row filter. The guard's caps apply before anything is allocated, as on the ImageIO path. Chunk CRCs are not
 * checked (ImageIO's reader does not check them either). Equal to the ImageIO path byte for byte (tested on every
 * colour type, every filter, and with each harmless chunk present).
 *
 * <p>Thread-safe: each decoding thread keeps one {@link Inflater} (reset per image) and one buffer for the inflated
 * rows, up to {@link #SCRATCH_MAX_BYTES}; a larger image gets a buffer of its own. A fresh buffer and zlib stream
 * per image had been 151 KB of garbage and a native allocation per 224 px RGB image on the worker's decode path
 * (nineteenth session).
 */
final class FastPng {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    /** Ancillary chunks that do not change the samples ImageIO's reader returns (checked by test). */
    static final Set<String> HARMLESS = Set.of("tEXt", "zTXt", "iTXt", "pHYs", "tIME", "gAMA", "cHRM", "sRGB");
    private static final int GRAY = 0;
    private static final int RGB = 2;
    private static final int GRAY_ALPHA = 4;
    private static final int RGBA = 6;

    /** The largest inflated-rows buffer a thread keeps between images (1024×1024 RGB fits). */
    static final int SCRATCH_MAX_BYTES = 4 << 20;
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** One thread's inflate state; only that thread touches it. */
    private static final class Scratch {
        final Inflater inflater = new Inflater();
        byte[] raw = new byte[0];

        /** A buffer of at least {@code size} bytes: this thread's, or a fresh one above the cap. */
        byte[] raw(int size) {
            if (size > SCRATCH_MAX_BYTES) return new byte[size];
            if (raw.length < size) raw = new byte[size];
            return raw;
        }
    }

    private FastPng() {
    }

    /**
     * The image as 8-bit RGB, or {@code null} when this path does not decide it.
     *
     * @throws ImageRejectedException when the guard refuses the header (the ImageIO path refuses it the same way)
     */
    static RgbImage decode(byte[] b, ImageGuard guard) {
        if (b == null || b.length < SIGNATURE.length + 25
                || !Arrays.equals(b, 0, SIGNATURE.length, SIGNATURE, 0, SIGNATURE.length)) {
            return null;
        }
        int p = SIGNATURE.length;
        if (u32(b, p) != 13 || !type(b, p + 4, "IHDR")) {
            return null;
        }
        long w = u32(b, p + 8);
        long h = u32(b, p + 12);
        int depth = b[p + 16] & 0xff;
        int colour = b[p + 17] & 0xff;
        int channels = channels(colour);
        if (w <= 0 || h <= 0 || w > Integer.MAX_VALUE || h > Integer.MAX_VALUE || depth != 8 || channels == 0
                || b[p + 18] != 0 || b[p + 19] != 0 || b[p + 20] != 0) {
            return null; // compression, filter method, interlace: only 0 is plain
        }
        guard.checkBytes(b);
        guard.check(new ImageInfo("png", (int) w, (int) h));
        long rowBytes = w * channels;
        long rawSize = h * (rowBytes + 1);
        if (rawSize > Integer.MAX_VALUE - 8 || 3 * w * h > Integer.MAX_VALUE - 8) {
            return null;
        }
        Scratch scratch = SCRATCH.get();
        byte[] raw = scratch.raw((int) rawSize);
        if (!inflateIdat(b, p + 25, raw, (int) rawSize, scratch.inflater)
                || !unfilter(raw, (int) h, (int) rowBytes, channels)) {
            return null;
        }
        return new RgbImage((int) w, (int) h, toRgb(raw, (int) w, (int) h, channels, colour));
    }

    private static int channels(int colour) {
        return switch (colour) {
            case GRAY -> 1;
            case RGB -> 3;
            case GRAY_ALPHA -> 2;
            case RGBA -> 4;
            default -> 0;
        };
    }

    /**
     * Walks the chunks after IHDR, inflating the IDAT ones (consecutive, as the format requires) into exactly
     * the first {@code size} bytes of {@code raw}; false when the file is not clean as the class says.
     */
    private static boolean inflateIdat(byte[] b, int p, byte[] raw, int size, Inflater inf) {
        try {
            int got = 0;
            boolean idatSeen = false;
            boolean idatDone = false;
            while (true) {
                if (p + 12 > b.length) {
                    return false; // no IEND
                }
                long len = u32(b, p);
                if (len > b.length - p - 12L) {
                    return false;
                }
                int data = p + 8;
                if (type(b, p + 4, "IDAT")) {
                    if (idatDone) {
                        return false;
                    }
                    idatSeen = true;
                    inf.setInput(b, data, (int) len);
                    while (got < size && !inf.needsInput() && !inf.finished()) {
                        int n = inf.inflate(raw, got, size - got);
                        if (n == 0) {
                            break; // needs input or a dictionary (refused below: too few bytes), or finished
                        }
                        got += n;
                    }
                } else {
                    idatDone |= idatSeen;
                    if (type(b, p + 4, "IEND")) {
                        return got == size && p + 12 + len == b.length;
                    }
                    if (!HARMLESS.contains(new String(b, p + 4, 4, StandardCharsets.ISO_8859_1))) {
                        return false;
                    }
                }
                p = data + (int) len + 4;
            }
        } catch (DataFormatException e) {
            return false; // ImageIO reports it
        } finally {
            inf.reset(); // ready for the thread's next image, and no longer holding this one's bytes
        }
    }

    /** Undoes the row filters in place (each row: a filter byte, then {@code rowBytes}); false on an unknown filter. */
    static boolean unfilter(byte[] raw, int h, int rowBytes, int bpp) {
        int stride = rowBytes + 1;
        for (int y = 0; y < h; y++) {
            int row = y * stride + 1;
            int prev = row - stride; // the row above (valid when y > 0)
            switch (raw[row - 1]) {
                case 0 -> { }
                case 1 -> {
                    for (int i = bpp; i < rowBytes; i++) {
                        raw[row + i] += raw[row + i - bpp];
                    }
                }
                case 2 -> {
                    if (y > 0) {
                        for (int i = 0; i < rowBytes; i++) {
                            raw[row + i] += raw[prev + i];
                        }
                    }
                }
                case 3 -> {
                    for (int i = 0; i < rowBytes; i++) {
                        int left = i >= bpp ? raw[row + i - bpp] & 0xff : 0;
                        int up = y > 0 ? raw[prev + i] & 0xff : 0;
                        raw[row + i] += (byte) ((left + up) >>> 1);
                    }
                }
                case 4 -> {
                    for (int i = 0; i < rowBytes; i++) {
                        int left = i >= bpp ? raw[row + i - bpp] & 0xff : 0;
                        int up = y > 0 ? raw[prev + i] & 0xff : 0;
                        int upLeft = i >= bpp && y > 0 ? raw[prev + i - bpp] & 0xff : 0;
                        raw[row + i] += (byte) paeth(left, up, upLeft);
                    }
                }
                default -> {
                    return false;
                }
            }
        }
        return true;
    }

    /** The Paeth predictor of the PNG specification: of left, up and up-left, the nearest to left + up - up-left. */
    static int paeth(int a, int b, int c) {
        int p = a + b - c;
        int pa = Math.abs(p - a);
        int pb = Math.abs(p - b);
        int pc = Math.abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static byte[] toRgb(byte[] raw, int w, int h, int channels, int colour) {
        byte[] out = new byte[3 * w * h];
        int stride = w * channels + 1;
        int o = 0;
        for (int y = 0; y < h; y++) {
            int q = y * stride + 1;
            switch (colour) {
                case RGB -> {
                    System.arraycopy(raw, q, out, o, 3 * w);
                    o += 3 * w;
                }
                case GRAY -> {
                    for (int x = 0; x < w; x++, q++) {
                        byte g = raw[q];
                        out[o++] = g;
                        out[o++] = g;
                        out[o++] = g;
                    }
                }
                case GRAY_ALPHA -> {
                    for (int x = 0; x < w; x++, q += 2) {
                        byte g = (byte) ImageDecoder.over(raw[q] & 0xff, raw[q + 1] & 0xff);
                        out[o++] = g;
                        out[o++] = g;
                        out[o++] = g;
                    }
                }
                default -> { // RGBA
                    for (int x = 0; x < w; x++, q += 4) {
                        int a = raw[q + 3] & 0xff;
                        out[o++] = (byte) ImageDecoder.over(raw[q] & 0xff, a);
                        out[o++] = (byte) ImageDecoder.over(raw[q + 1] & 0xff, a);
                        out[o++] = (byte) ImageDecoder.over(raw[q + 2] & 0xff, a);
                    }
                }
            }
        }
        return out;
    }

    private static long u32(byte[] b, int p) {
        return (b[p] & 0xffL) << 24 | (b[p + 1] & 0xffL) << 16 | (b[p + 2] & 0xffL) << 8 | b[p + 3] & 0xffL;
    }

    private static boolean type(byte[] b, int p, String t) {
        return b[p] == t.charAt(0) && b[p + 1] == t.charAt(1) && b[p + 2] == t.charAt(2) && b[p + 3] == t.charAt(3);
    }
}
