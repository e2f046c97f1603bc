package dev.graft.common.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.graft.common.image.ImageRejectedException.Reason;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * The PNG fast path against ImageIO, the decoder it stands in for: every colour type it takes, every row filter,
 * each harmless chunk; and what it must leave to ImageIO.
 */
class FastPngTest {
    private static final ImageGuard GUARD = new ImageGuard();

    /** What the decoder gave before the fast path: ImageIO's reader, then the documented conversion. */
    private static RgbImage viaImageIo(byte[] png) {
        try {
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
            assertThat(img).as("ImageIO reads the test PNG").isNotNull();
            return ImageDecoder.toRgb(img);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void assertSameAsImageIo(byte[] png, String what) {
        RgbImage fast = FastPng.decode(png, GUARD);
        assertThat(fast).as(what + ": decided by the fast path").isNotNull();
        RgbImage slow = viaImageIo(png);
        assertThat(fast.width()).as(what).isEqualTo(slow.width());
        assertThat(fast.height()).as(what).isEqualTo(slow.height());
        assertThat(fast.rgb()).as(what + ": bytes").isEqualTo(slow.rgb());
    }

    @Test
    void everyColourTypeAndRowFilterDecodesAsImageIoDoes() {
        Random rnd = new Random(7);
        for (int colour : new int[] {0, 2, 4, 6}) {
            for (int[] size : new int[][] {{1, 1}, {3, 2}, {17, 5}, {40, 23}}) {
                for (int kind = 0; kind < 3; kind++) {
                    int w = size[0];
                    int h = size[1];
                    byte[] samples = samples(rnd, w, h, channels(colour), kind);
                    int[] filters = new int[h];
                    for (int y = 0; y < h; y++) {
                        filters[y] = (y + colour) % 5; // all five filters, first row included
                    }
                    byte[] png = png(w, h, colour, samples, filters, Map.of());
                    assertSameAsImageIo(png, "colour type " + colour + " " + w + "x" + h + " kind " + kind);
                }
            }
        }
    }

    @Test
    void imageIoWrittenPngsDecodeAsImageIoDoes() {
        Random rnd = new Random(11);
        for (int type : new int[] {BufferedImage.TYPE_INT_RGB, BufferedImage.TYPE_INT_ARGB, BufferedImage.TYPE_BYTE_GRAY}) {
            BufferedImage img = new BufferedImage(96, 64, type);
            for (int y = 0; y < 64; y++) {
                for (int x = 0; x < 96; x++) {
                    img.setRGB(x, y, y < 32 ? rnd.nextInt() : 0xff000000 | (x * 2) << 16 | (y * 3) << 8 | x + y);
                }
            }
            assertSameAsImageIo(TestImages.encode(img, "png"), "ImageIO-written type " + type);
        }
    }

    @Test
    void harmlessChunksDoNotChangeThePixels() {
        Map<String, byte[]> chunks = new LinkedHashMap<>();
        chunks.put("gAMA", u32s(45455));
        chunks.put("cHRM", u32s(31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000));
        chunks.put("sRGB", new byte[] {0});
        chunks.put("pHYs", new byte[] {0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1});
        chunks.put("tIME", new byte[] {0x07, (byte) 0xea, 11, 29, 9, 30, 0});
        chunks.put("tEXt", "Comment\0graft".getBytes(StandardCharsets.ISO_8859_1));
        chunks.put("iTXt", "Title\0\0\0\0\0graft".getBytes(StandardCharsets.ISO_8859_1));
        chunks.put("zTXt", zTxt());
        assertThat(chunks.keySet()).containsExactlyInAnyOrderElementsOf(FastPng.HARMLESS);
        Random rnd = new Random(3);
        for (int colour : new int[] {0, 2, 6}) {
            byte[] samples = samples(rnd, 9, 7, channels(colour), 0);
            assertSameAsImageIo(png(9, 7, colour, samples, new int[7], chunks), "colour " + colour + " with all chunks");
        }
    }

    @Test
    void leavesToImageIoWhatItDoesNotTake() {
        Random rnd = new Random(5);
        byte[] rgb = samples(rnd, 8, 8, 3, 0);
        byte[] clean = png(8, 8, 2, rgb, new int[8], Map.of());
        assertThat(FastPng.decode(clean, GUARD)).isNotNull();

        // tRNS makes ImageIO add alpha; an unknown filter byte; palette; 16 bit; interlaced
        assertThat(FastPng.decode(png(8, 8, 2, rgb, new int[8], Map.of("tRNS", new byte[] {0, 1, 0, 2, 0, 3})), GUARD)).isNull();
        int[] badFilter = new int[8];
        badFilter[3] = 5;
        byte[] bad = png(8, 8, 2, rgb, badFilter, Map.of());
        assertThat(FastPng.decode(bad, GUARD)).isNull();
        assertThat(rejectedBy(bad)).isEqualTo(Reason.CORRUPT);
        assertThat(FastPng.decode(withIhdrByte(clean, 9, 3), GUARD)).as("palette").isNull();
        assertThat(FastPng.decode(withIhdrByte(clean, 8, 16), GUARD)).as("16 bit").isNull();
        assertThat(FastPng.decode(withIhdrByte(clean, 12, 1), GUARD)).as("interlaced").isNull();

        // every truncation, and bytes after IEND
        for (int cut = 0; cut < clean.length; cut++) {
            assertThat(FastPng.decode(Arrays.copyOf(clean, cut), GUARD)).as("cut at " + cut).isNull();
        }
        assertThat(FastPng.decode(Arrays.copyOf(clean, clean.length + 1), GUARD)).isNull();
        // not a PNG at all
        assertThat(FastPng.decode(TestImages.encode(TestImages.solid(8, 8, 0x336699), "jpeg"), GUARD)).isNull();
    }

    @Test
    void aThreadsReusedInflateStateCarriesNothingOfTheImageBefore() {
        Random rnd = new Random(13);
        byte[] big = png(40, 23, 6, samples(rnd, 40, 23, 4, 0), new int[23], Map.of());
        int[] upAndAverage = {2, 3, 2, 4, 3};
        byte[] small = png(7, 5, 2, samples(rnd, 7, 5, 3, 0), upAndAverage, Map.of());
        byte[] clean = png(9, 9, 0, samples(rnd, 9, 9, 1, 0), new int[9], Map.of());
        byte[] rowsLeftOver = withIhdrByte(clean, 7, 5); // 5 rows declared: the zlib stream is left half read
        byte[] rowsMissing = withIhdrByte(clean, 7, 12); // 12 declared: it ends too soon
        byte[] beyondTheCap = png(1500, 1000, 2, samples(rnd, 1500, 1000, 3, 0), new int[1000], Map.of());
        assertThat(1000 * (1500 * 3 + 1)).isGreaterThan(FastPng.SCRATCH_MAX_BYTES);

        assertSameAsImageIo(big, "a large image first");
        assertSameAsImageIo(small, "a smaller one after it, in the same buffer");
        assertThat(FastPng.decode(rowsLeftOver, GUARD).height()).isEqualTo(5);
        assertSameAsImageIo(clean, "a clean image after an inflate that stopped half way");
        assertThat(FastPng.decode(rowsMissing, GUARD)).isNull();
        assertSameAsImageIo(clean, "a clean image after one whose stream ended too soon");
        assertSameAsImageIo(beyondTheCap, "an image above the kept buffer's cap");
        assertSameAsImageIo(small, "and the small one again");
    }

    @Test
    void guardCapsApplyBeforeAnyPixelIsAllocated() {
        byte[] bomb = TestImages.pngHeaderOnly(65535, 65535);
        ImageRejectedException e = catchThrowableOfType(ImageRejectedException.class, () -> FastPng.decode(bomb, GUARD));
        assertThat(e).isNotNull();
        assertThat(e.reason()).isEqualTo(Reason.TOO_MANY_PIXELS);
        byte[] small = png(8, 8, 2, new byte[8 * 8 * 3], new int[8], Map.of());
        ImageGuard tight = new ImageGuard(small.length - 1, ImageGuard.DEFAULT_MAX_PIXELS, 20);
        e = catchThrowableOfType(ImageRejectedException.class, () -> FastPng.decode(small, tight));
        assertThat(e).isNotNull();
        assertThat(e.reason()).isEqualTo(Reason.TOO_LARGE_BYTES);
    }

    private static Reason rejectedBy(byte[] png) {
        ImageRejectedException e = catchThrowableOfType(ImageRejectedException.class, () -> new ImageDecoder().decode(png));
        assertThat(e).isNotNull();
        return e.reason();
    }

    private static int channels(int colour) {
        return switch (colour) {
            case 0 -> 1;
            case 2 -> 3;
            case 4 -> 2;
            default -> 4;
        };
    }

    /**
     * Kind 0: noise; 1: gradients with some noise (where the prediction filters matter); 2: three levels 0, 2, 4,
     * so that Paeth's ties (left and up equally near) come often. Alpha spans what the colours do.
     */
    private static byte[] samples(Random rnd, int w, int h, int channels, int kind) {
        byte[] s = new byte[w * h * channels];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < channels; c++) {
                    int v = switch (kind) {
                        case 0 -> rnd.nextInt(256);
                        case 1 -> (x * 5 + y * 3 + c * 40 + rnd.nextInt(4)) & 0xff;
                        default -> 2 * rnd.nextInt(3);
                    };
                    s[(y * w + x) * channels + c] = (byte) v;
                }
            }
        }
        return s;
    }

    /** A non-interlaced 8-bit PNG with the given row filters, written here (no encoder picks filters for us). */
    static byte[] png(int w, int h, int colour, byte[] samples, int[] filters, Map<String, byte[]> extra) {
        int bpp = channels(colour);
        int rowBytes = w * bpp;
        byte[] raw = new byte[h * (rowBytes + 1)];
        for (int y = 0; y < h; y++) {
            int f = filters[y];
            raw[y * (rowBytes + 1)] = (byte) f;
            for (int i = 0; i < rowBytes; i++) {
                int cur = samples[y * rowBytes + i] & 0xff;
                int left = i >= bpp ? samples[y * rowBytes + i - bpp] & 0xff : 0;
                int up = y > 0 ? samples[(y - 1) * rowBytes + i] & 0xff : 0;
                int upLeft = i >= bpp && y > 0 ? samples[(y - 1) * rowBytes + i - bpp] & 0xff : 0;
                int pred = switch (f) {
                    case 1 -> left;
                    case 2 -> up;
                    case 3 -> (left + up) / 2;
                    case 4 -> FastPng.paeth(left, up, upLeft); // a wrong predictor shows against ImageIO
                    default -> 0;
                };
                raw[y * (rowBytes + 1) + 1 + i] = (byte) (cur - pred);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        byte[] ihdr = new byte[13];
        System.arraycopy(u32s(w, h), 0, ihdr, 0, 8);
        ihdr[8] = 8;
        ihdr[9] = (byte) colour;
        chunk(out, "IHDR", ihdr);
        extra.forEach((type, data) -> chunk(out, type, data));
        byte[] z = deflate(raw);
        int half = z.length / 2; // two IDAT chunks: the stream continues across them
        chunk(out, "IDAT", Arrays.copyOf(z, half));
        chunk(out, "IDAT", Arrays.copyOfRange(z, half, z.length));
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    /** A copy with one IHDR byte changed (offset from the start of IHDR's data), its CRC redone. */
    private static byte[] withIhdrByte(byte[] png, int offset, int value) {
        byte[] b = png.clone();
        b[16 + offset] = (byte) value;
        CRC32 crc = new CRC32();
        crc.update(b, 12, 17);
        System.arraycopy(u32s((int) crc.getValue()), 0, b, 29, 4);
        return b;
    }

    private static byte[] deflate(byte[] data) {
        Deflater d = new Deflater();
        d.setInput(data);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        while (!d.finished()) {
            out.write(buf, 0, d.deflate(buf));
        }
        d.end();
        return out.toByteArray();
    }

    private static byte[] zTxt() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes("Comment\0\0".getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(deflate("graft".getBytes(StandardCharsets.ISO_8859_1)));
        return out.toByteArray();
    }

    private static byte[] u32s(int... v) {
        byte[] b = new byte[4 * v.length];
        for (int i = 0; i < v.length; i++) {
            b[4 * i] = (byte) (v[i] >>> 24);
            b[4 * i + 1] = (byte) (v[i] >>> 16);
            b[4 * i + 2] = (byte) (v[i] >>> 8);
            b[4 * i + 3] = (byte) v[i];
        }
        return b;
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.ISO_8859_1);
        out.writeBytes(u32s(data.length));
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(u32s((int) crc.getValue()));
    }
}
