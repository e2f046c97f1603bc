package dev.graft.common.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.graft.common.image.ImageRejectedException.Reason;
import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ImageDecoderTest {
    private final ImageDecoder decoder = new ImageDecoder();

    private static Reason rejected(Runnable r) {
        ImageRejectedException e = catchThrowableOfType(ImageRejectedException.class, r::run);
        assertThat(e).as("expected ImageRejectedException").isNotNull();
        assertThat(e.getMessage()).startsWith(e.reason().name());
        return e.reason();
    }

    @Test
    void decodesPngExactly() {
        BufferedImage img = new BufferedImage(3, 2, BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, 0xff0000);
        img.setRGB(1, 0, 0x00ff00);
        img.setRGB(2, 0, 0x0000ff);
        img.setRGB(0, 1, 0x102030);
        RgbImage rgb = decoder.decode(TestImages.encode(img, "png"));
        assertThat(rgb.width()).isEqualTo(3);
        assertThat(rgb.height()).isEqualTo(2);
        assertThat(new int[] {rgb.get(0, 0, 0), rgb.get(0, 0, 1), rgb.get(0, 0, 2)}).containsExactly(255, 0, 0);
        assertThat(new int[] {rgb.get(1, 0, 0), rgb.get(1, 0, 1), rgb.get(1, 0, 2)}).containsExactly(0, 255, 0);
        assertThat(new int[] {rgb.get(2, 0, 0), rgb.get(2, 0, 1), rgb.get(2, 0, 2)}).containsExactly(0, 0, 255);
        assertThat(new int[] {rgb.get(0, 1, 0), rgb.get(0, 1, 1), rgb.get(0, 1, 2)}).containsExactly(0x10, 0x20, 0x30);
        assertThat(decoder.guard().inspect(TestImages.encode(img, "png"))).isEqualTo(new ImageInfo("png", 3, 2));
    }

    @Test
    void decodesJpegApproximately() {
        byte[] jpeg = TestImages.encode(TestImages.solid(16, 8, 0xc86432), "jpeg");
        RgbImage rgb = decoder.decode(jpeg);
        assertThat(rgb.width()).isEqualTo(16);
        assertThat(rgb.height()).isEqualTo(8);
        assertThat(rgb.get(5, 5, 0)).isCloseTo(0xc8, org.assertj.core.data.Offset.offset(4));
        assertThat(rgb.get(5, 5, 1)).isCloseTo(0x64, org.assertj.core.data.Offset.offset(4));
        assertThat(rgb.get(5, 5, 2)).isCloseTo(0x32, org.assertj.core.data.Offset.offset(4));
    }

    /**
     * The direct-array fast path must give the colour-model path's bytes exactly, for the image types ImageIO's
     * readers return (random pixels, alpha included), both for images as built and as decoded from PNG and JPEG.
     */
    @Test
    void fastPathEqualsColourModelPathByteForByte() {
        java.util.Random rnd = new java.util.Random(42);
        int[] types = {BufferedImage.TYPE_BYTE_GRAY, BufferedImage.TYPE_3BYTE_BGR, BufferedImage.TYPE_4BYTE_ABGR};
        for (int type : types) {
            BufferedImage img = new BufferedImage(37, 23, type);
            WritableRaster r = img.getRaster();
            for (int y = 0; y < r.getHeight(); y++) {
                for (int x = 0; x < r.getWidth(); x++) {
                    for (int b = 0; b < r.getNumBands(); b++) {
                        r.setSample(x, y, b, rnd.nextInt(256));
                    }
                }
            }
            assertThat(ImageDecoder.interleavedBytes(img)).as("fast path taken for type %d", type).isNotNull();
            assertThat(ImageDecoder.toRgb(img).rgb()).as("type %d", type)
                    .isEqualTo(ImageDecoder.toRgbGeneric(img).rgb());
            for (String format : type == BufferedImage.TYPE_4BYTE_ABGR ? new String[] {"png"} : new String[] {"png", "jpeg"}) {
                RgbImage decoded = decoder.decode(TestImages.encode(img, format));
                BufferedImage back = readBack(TestImages.encode(img, format));
                assertThat(ImageDecoder.interleavedBytes(back)).as("fast path for decoded %s of type %d", format, type).isNotNull();
                assertThat(decoded.rgb()).as("decoded %s of type %d", format, type)
                        .isEqualTo(ImageDecoder.toRgbGeneric(back).rgb());
            }
        }
    }

    @Test
    void fastPathDeclinesWhatItCannotReadDirectly() {
        BufferedImage parent = new BufferedImage(8, 8, BufferedImage.TYPE_3BYTE_BGR);
        assertThat(ImageDecoder.interleavedBytes(parent.getSubimage(1, 1, 4, 4))).as("sub-image shares a raster").isNull();
        assertThat(ImageDecoder.interleavedBytes(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB))).isNull();
        assertThat(ImageDecoder.interleavedBytes(new BufferedImage(4, 4, BufferedImage.TYPE_4BYTE_ABGR_PRE))).isNull();
        BufferedImage sub = parent.getSubimage(1, 1, 4, 4);
        assertThat(ImageDecoder.toRgb(sub).rgb()).isEqualTo(ImageDecoder.toRgbGeneric(sub).rgb());
    }

    private static BufferedImage readBack(byte[] encoded) {
        try {
            return javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(encoded));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void grayIsReplicatedWithRawValues() {
        BufferedImage g = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_GRAY);
        g.getRaster().setSample(0, 0, 0, 128);
        g.getRaster().setSample(1, 0, 0, 7);
        RgbImage rgb = decoder.decode(TestImages.encode(g, "png"));
        for (int c = 0; c < 3; c++) {
            assertThat(rgb.get(0, 0, c)).isEqualTo(128);
            assertThat(rgb.get(1, 0, c)).isEqualTo(7);
        }
        // gray JPEG too
        RgbImage j = decoder.decode(TestImages.encode(g, "jpeg"));
        assertThat(j.get(0, 0, 0)).isEqualTo(j.get(0, 0, 1)).isEqualTo(j.get(0, 0, 2));
    }

    @Test
    void sixteenBitGrayIsScaledTo8Bit() {
        BufferedImage g = new BufferedImage(3, 1, BufferedImage.TYPE_USHORT_GRAY);
        WritableRaster r = g.getRaster();
        r.setSample(0, 0, 0, 65535);
        r.setSample(1, 0, 0, 128 * 257);
        r.setSample(2, 0, 0, 0);
        RgbImage rgb = decoder.decode(TestImages.encode(g, "png"));
        assertThat(rgb.get(0, 0, 1)).isEqualTo(255);
        assertThat(rgb.get(1, 0, 1)).isEqualTo(128);
        assertThat(rgb.get(2, 0, 1)).isEqualTo(0);
    }

    @Test
    void alphaIsCompositedOnWhite() {
        BufferedImage a = new BufferedImage(3, 1, BufferedImage.TYPE_INT_ARGB);
        a.setRGB(0, 0, 0x00000000); // fully transparent black -> white
        a.setRGB(1, 0, 0xffff0000); // opaque red stays red
        a.setRGB(2, 0, 0x80000000); // half transparent black -> ~127
        RgbImage rgb = decoder.decode(TestImages.encode(a, "png"));
        assertThat(new int[] {rgb.get(0, 0, 0), rgb.get(0, 0, 1), rgb.get(0, 0, 2)}).containsExactly(255, 255, 255);
        assertThat(new int[] {rgb.get(1, 0, 0), rgb.get(1, 0, 1), rgb.get(1, 0, 2)}).containsExactly(255, 0, 0);
        assertThat(rgb.get(2, 0, 0)).isEqualTo(127);
    }

    @Test
    void pngDeclaringHugeSizeIsRejectedFromHeaderAlone() {
        byte[] bomb = TestImages.pngHeaderOnly(65535, 65535);
        assertThat(bomb.length).isLessThan(100);
        assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
            assertThat(rejected(() -> decoder.decode(bomb))).isEqualTo(Reason.TOO_MANY_PIXELS);
            assertThat(rejected(() -> decoder.guard().inspect(bomb))).isEqualTo(Reason.TOO_MANY_PIXELS);
        });
    }

    @Test
    void jpegDeclaringHugeSizeIsRejectedFromHeaderAlone() {
        byte[] bomb = TestImages.patchJpegSize(TestImages.encode(TestImages.solid(8, 8, 0x808080), "jpeg"),
                60000, 60000); // libjpeg itself refuses > 65500 as CORRUPT
        assertTimeoutPreemptively(Duration.ofSeconds(2),
                () -> assertThat(rejected(() -> decoder.decode(bomb))).isEqualTo(Reason.TOO_MANY_PIXELS));
    }

    @Test
    void extremeAspectIsRejected() {
        byte[] png = TestImages.pngHeaderOnly(2100, 100);
        assertThat(rejected(() -> decoder.decode(png))).isEqualTo(Reason.BAD_ASPECT);
        // 20:1 exactly is allowed by the header check
        assertThat(decoder.guard().inspect(TestImages.pngHeaderOnly(2000, 100)).width()).isEqualTo(2000);
    }

    @Test
    void byteCapIsApplied() {
        ImageDecoder small = new ImageDecoder(new ImageGuard(100, ImageGuard.DEFAULT_MAX_PIXELS, 20));
        byte[] png = TestImages.encode(TestImages.solid(64, 64, 0x123456), "jpeg");
        assertThat(png.length).isGreaterThan(100);
        assertThat(rejected(() -> small.decode(png))).isEqualTo(Reason.TOO_LARGE_BYTES);
    }

    @Test
    void truncatedPngIsCorrupt() {
        BufferedImage noisy = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        java.util.Random rnd = new java.util.Random(1);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                noisy.setRGB(x, y, rnd.nextInt(0x1000000));
            }
        }
        byte[] png = TestImages.encode(noisy, "png");
        byte[] cut = Arrays.copyOf(png, png.length / 2);
        assertThat(rejected(() -> decoder.decode(cut))).isEqualTo(Reason.CORRUPT);
        byte[] headerOnly = TestImages.pngHeaderOnly(10, 10); // no IDAT at all
        assertThat(rejected(() -> decoder.decode(headerOnly))).isEqualTo(Reason.CORRUPT);
    }

    @Test
    void truncatedJpegIsCorrupt() {
        BufferedImage noisy = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        java.util.Random rnd = new java.util.Random(2);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                noisy.setRGB(x, y, rnd.nextInt(0x1000000));
            }
        }
        byte[] jpeg = TestImages.encode(noisy, "jpeg");
        byte[] cut = Arrays.copyOf(jpeg, jpeg.length * 2 / 3);
        assertThat(rejected(() -> decoder.decode(cut))).isEqualTo(Reason.CORRUPT);
    }

    @Test
    void cmykJpegHasADefinedOutcome() throws Exception {
        javax.imageio.ImageWriter w = javax.imageio.ImageIO.getImageWritersByFormatName("jpeg").next();
        WritableRaster cmyk = java.awt.image.Raster.createInterleavedRaster(
                java.awt.image.DataBuffer.TYPE_BYTE, 8, 8, 4, null);
        java.io.ByteArrayOutputStream bo = new java.io.ByteArrayOutputStream();
        try (javax.imageio.stream.ImageOutputStream o = new javax.imageio.stream.MemoryCacheImageOutputStream(bo)) {
            w.setOutput(o);
            w.write(null, new javax.imageio.IIOImage(cmyk, null, null), null);
        } finally {
            w.dispose();
        }
        // Java 17 reads 4-channel JPEGs; either it decodes to 8x8 RGB or it is UNSUPPORTED_FORMAT, never anything else.
        try {
            RgbImage rgb = decoder.decode(bo.toByteArray());
            assertThat(rgb.width()).isEqualTo(8);
            assertThat(rgb.rgb()).hasSize(8 * 8 * 3);
        } catch (ImageRejectedException e) {
            assertThat(e.reason()).isEqualTo(Reason.UNSUPPORTED_FORMAT);
        }
    }

    @Test
    void emptyAndNonImage() {
        assertThat(rejected(() -> decoder.decode(new byte[0]))).isEqualTo(Reason.EMPTY);
        assertThat(rejected(() -> decoder.decode(null))).isEqualTo(Reason.EMPTY);
        byte[] text = "hello, this is not an image at all".getBytes(StandardCharsets.UTF_8);
        ImageRejectedException e = catchThrowableOfType(ImageRejectedException.class, () -> decoder.decode(text));
        assertThat(e.reason()).isEqualTo(Reason.UNSUPPORTED_FORMAT);
        assertThat(e.getMessage()).contains("not a recognised image format");
    }
}
