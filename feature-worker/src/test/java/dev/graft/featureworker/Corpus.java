package dev.graft.featureworker;

import dev.graft.common.image.TestImages;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/** Good and bad image bytes made in tests (no files, no network). */
final class Corpus {
    private Corpus() {}

    /** A 28x28 grayscale PNG with a Fashion-MNIST-like blob: dark background, a bright noisy shape. */
    static byte[] fashionLikePng(long seed) {
        Random rnd = new Random(seed);
        BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        int x0 = 4 + rnd.nextInt(6);
        int y0 = 4 + rnd.nextInt(6);
        int x1 = 18 + rnd.nextInt(6);
        int y1 = 18 + rnd.nextInt(6);
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                int v = x >= x0 && x <= x1 && y >= y0 && y <= y1 ? 120 + rnd.nextInt(136) : rnd.nextInt(8);
                img.getRaster().setSample(x, y, 0, v);
            }
        }
        return encode(img, "png");
    }

    static byte[] encode(BufferedImage img, String format) {
        return TestImages.encode(img, format);
    }

    static BufferedImage noise(int w, int h, int type, long seed) {
        Random rnd = new Random(seed);
        BufferedImage img = new BufferedImage(w, h, type);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, rnd.nextInt());
            }
        }
        return img;
    }

    static byte[] text() {
        return "hello, this is plain text and not an image".getBytes(StandardCharsets.UTF_8);
    }

    /** A valid PNG cut at two thirds: the IDAT stream ends early. */
    static byte[] truncatedPng() {
        byte[] png = encode(noise(64, 64, BufferedImage.TYPE_INT_RGB, 7), "png");
        return java.util.Arrays.copyOf(png, png.length * 2 / 3);
    }

    /** A PNG of signature + IHDR (correct CRC) + IEND declaring w x h: a decompression bomb's header. */
    static byte[] pngHeaderOnly(int width, int height) {
        return TestImages.pngHeaderOnly(width, height);
    }

    /** A small baseline JPEG whose SOF0 marker is rewritten to declare width x height. */
    static byte[] jpegDeclaring(int width, int height) {
        return TestImages.patchJpegSize(encode(noise(16, 16, BufferedImage.TYPE_INT_RGB, 3), "jpeg"), width, height);
    }

    /** A 4-channel (CMYK-like, no colour space marker) baseline JPEG written by ImageIO from a raster. */
    static byte[] fourChannelJpeg() {
        ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
        java.awt.image.WritableRaster cmyk = java.awt.image.Raster.createInterleavedRaster(
                java.awt.image.DataBuffer.TYPE_BYTE, 16, 16, 4, null);
        Random rnd = new Random(11);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                for (int b = 0; b < 4; b++) {
                    cmyk.setSample(x, y, b, rnd.nextInt(256));
                }
            }
        }
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (ImageOutputStream o = new MemoryCacheImageOutputStream(bo)) {
            w.setOutput(o);
            w.write(null, new IIOImage(cmyk, null, null), null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            w.dispose();
        }
        return bo.toByteArray();
    }
}
