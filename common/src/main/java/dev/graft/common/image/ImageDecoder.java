package dev.graft.common.image;

import dev.graft.common.image.ImageRejectedException.Reason;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.PixelInterleavedSampleModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.IIOException;

/**
 * Decodes untrusted encoded images (anything the JVM's ImageIO reads: PNG, JPEG, GIF, BMP, ...;
 * first frame only) to 8-bit RGB, after {@link ImageGuard} has accepted the header.
 *
 * <p>Conversions, all deterministic:
 * <ul>
 *   <li>Grayscale (with or without alpha, 1..16 bit) is replicated to R=G=B using the raw sample values
 *       (as PIL and browsers do), not through Java's linear-gray colour space.</li>
 *   <li>Alpha is composited over <b>white</b>: {@code c' = c*a + 255*(1-a)}, so transparent pixels become
 *       white (the usual background of product photos and what a page shows by default).</li>
 *   <li>16-bit samples are scaled to 8 bit with rounding ({@code round(v*255/65535)}).</li>
 *   <li>Palette and other colour models go through {@link BufferedImage#getRGB}, i.e. are converted to sRGB.</li>
 *   <li>EXIF orientation is not applied (ImageIO ignores it).</li>
 *   <li>CMYK JPEGs: Java 17's reader decodes them (4-channel CMYK colour space) and they go through
 *       {@code getRGB}'s naive CMYK&rarr;RGB, so they decode but colours may be off (no ICC, Adobe inversion
 *       not guaranteed). JPEGs the reader refuses ("Unsupported Image Type", e.g. some YCCK variants)
 *       are rejected as {@link Reason#UNSUPPORTED_FORMAT}.</li>
 *   <li>Truncated data is {@link Reason#CORRUPT}, including a JPEG ImageIO would decode partially
 *       with a "premature end" warning.</li>
 * </ul>
 * Plain 8-bit PNGs skip ImageIO ({@link FastPng}, the same bytes, several times cheaper).
 * Thread-safe: each call uses its own reader.
 */
public final class ImageDecoder {
    private final ImageGuard guard;

    public ImageDecoder() {
        this(new ImageGuard());
    }

    public ImageDecoder(ImageGuard guard) {
        this.guard = guard;
    }

    public ImageGuard guard() {
        return guard;
    }

    /**
     * @throws ImageRejectedException if the guard refuses the image or it cannot be decoded
     */
    public RgbImage decode(byte[] bytes) {
        RgbImage plain = FastPng.decode(bytes, guard);
        if (plain != null) {
            return plain;
        }
        try (ImageGuard.Opened o = guard.open(bytes)) {
            String format = o.info().format();
            List<String> warnings = new ArrayList<>();
            o.reader.addIIOReadWarningListener((src, warning) -> warnings.add(warning));
            BufferedImage img;
            try {
                img = o.reader.read(0);
            } catch (IIOException e) {
                String msg = String.valueOf(e.getMessage());
                if (msg.contains("Unsupported Image Type") || msg.contains("Unsupported Color Conversion")) {
                    throw new ImageRejectedException(Reason.UNSUPPORTED_FORMAT, format
                            + " colour model not supported by ImageIO (CMYK/YCCK JPEG?): " + msg, e);
                }
                throw new ImageRejectedException(Reason.CORRUPT, "cannot decode " + format + ": " + describe(e), e);
            } catch (IOException | RuntimeException e) {
                throw new ImageRejectedException(Reason.CORRUPT, "cannot decode " + format + ": " + describe(e), e);
            }
            for (String w : warnings) {
                String lw = w.toLowerCase(Locale.ROOT);
                if (lw.contains("truncated") || lw.contains("premature end") || lw.contains("missing eoi")) {
                    throw new ImageRejectedException(Reason.CORRUPT, format + " is truncated: " + w);
                }
            }
            if (img == null || img.getWidth() != o.info().width() || img.getHeight() != o.info().height()) {
                throw new ImageRejectedException(Reason.CORRUPT, format + " decoded size differs from its header");
            }
            return toRgb(img);
        }
    }

    private static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder(String.valueOf(e.getMessage()));
        for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            sb.append(" <- ").append(c.getClass().getSimpleName()).append(": ").append(c.getMessage());
        }
        return sb.toString();
    }

    /** Converts any BufferedImage to interleaved 8-bit RGB as documented on the class. */
    public static RgbImage toRgb(BufferedImage img) {
        byte[] fast = interleavedBytes(img);
        return fast != null ? new RgbImage(img.getWidth(), img.getHeight(), fast) : toRgbGeneric(img);
    }

    /**
     * The same conversion read straight from the pixel array, for what ImageIO's PNG and JPEG readers return most
     * (8-bit gray, BGR, ABGR in sRGB, one unshared raster); null for anything else. Equal to
     * {@link #toRgbGeneric} byte for byte (tested), about ten times cheaper than going through the colour model.
     */
    static byte[] interleavedBytes(BufferedImage img) {
        int type = img.getType();
        if (type != BufferedImage.TYPE_BYTE_GRAY && type != BufferedImage.TYPE_3BYTE_BGR
                && type != BufferedImage.TYPE_4BYTE_ABGR) {
            return null;
        }
        WritableRaster r = img.getRaster();
        if (r.getParent() != null || r.getSampleModelTranslateX() != 0 || r.getSampleModelTranslateY() != 0
                || !(r.getDataBuffer() instanceof DataBufferByte db) || db.getNumBanks() != 1 || db.getOffset() != 0
                || !(r.getSampleModel() instanceof PixelInterleavedSampleModel sm)) {
            return null;
        }
        int w = img.getWidth();
        int h = img.getHeight();
        int stride = sm.getPixelStride();
        int[] bands = sm.getBandOffsets();
        if (sm.getScanlineStride() != stride * w || bands.length != stride) {
            return null;
        }
        byte[] src = db.getData();
        byte[] out = new byte[3 * w * h];
        int n = w * h;
        if (type == BufferedImage.TYPE_BYTE_GRAY) {
            for (int i = 0, p = 0; i < n; i++) {
                byte g = src[i];
                out[p++] = g;
                out[p++] = g;
                out[p++] = g;
            }
        } else if (type == BufferedImage.TYPE_3BYTE_BGR) {
            int ro = bands[0];
            int go = bands[1];
            int bo = bands[2];
            for (int i = 0, q = 0, p = 0; i < n; i++, q += 3) {
                out[p++] = src[q + ro];
                out[p++] = src[q + go];
                out[p++] = src[q + bo];
            }
        } else {
            if (img.isAlphaPremultiplied()) {
                return null;
            }
            int ro = bands[0];
            int go = bands[1];
            int bo = bands[2];
            int ao = bands[3];
            for (int i = 0, q = 0, p = 0; i < n; i++, q += 4) {
                int a = src[q + ao] & 0xff;
                out[p++] = (byte) over(src[q + ro] & 0xff, a);
                out[p++] = (byte) over(src[q + go] & 0xff, a);
                out[p++] = (byte) over(src[q + bo] & 0xff, a);
            }
        }
        return out;
    }

    /** The conversion for every colour model: gray from its raw samples, the rest through {@code getRGB}. */
    static RgbImage toRgbGeneric(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        byte[] out = new byte[3 * w * h];
        ColorModel cm = img.getColorModel();
        if (!(cm instanceof IndexColorModel) && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY
                && cm.getNumColorComponents() == 1) {
            grayToRgb(img.getRaster(), cm, out);
        } else {
            int[] row = new int[w];
            int p = 0;
            for (int y = 0; y < h; y++) {
                img.getRGB(0, y, w, 1, row, 0, w);
                for (int x = 0; x < w; x++) {
                    int argb = row[x];
                    int a = argb >>> 24;
                    out[p++] = (byte) over(argb >> 16 & 0xff, a);
                    out[p++] = (byte) over(argb >> 8 & 0xff, a);
                    out[p++] = (byte) over(argb & 0xff, a);
                }
            }
        }
        return new RgbImage(w, h, out);
    }

    /** Non-premultiplied 8-bit channel over white. */
    static int over(int c, int a) {
        return a == 255 ? c : (c * a + 255 * (255 - a) + 127) / 255;
    }

    private static void grayToRgb(Raster r, ColorModel cm, byte[] out) {
        int w = r.getWidth();
        int h = r.getHeight();
        double gMax = (1 << cm.getComponentSize(0)) - 1;
        boolean alpha = cm.hasAlpha() && r.getNumBands() > 1;
        double aMax = alpha ? (1 << cm.getComponentSize(1)) - 1 : 1;
        boolean premultiplied = cm.isAlphaPremultiplied();
        int[] g = new int[w];
        int[] a = alpha ? new int[w] : null;
        int p = 0;
        for (int y = 0; y < h; y++) {
            r.getSamples(r.getMinX(), r.getMinY() + y, w, 1, 0, g);
            if (alpha) {
                r.getSamples(r.getMinX(), r.getMinY() + y, w, 1, 1, a);
            }
            for (int x = 0; x < w; x++) {
                double v = g[x] * 255.0 / gMax;
                if (alpha) {
                    double af = a[x] / aMax;
                    v = (premultiplied ? v : v * af) + 255.0 * (1 - af);
                }
                byte b = (byte) Math.max(0, Math.min(255, (int) Math.round(v)));
                out[p++] = b;
                out[p++] = b;
                out[p++] = b;
            }
        }
    }
}
