package dev.graft.common.image;

import dev.graft.common.image.ImageRejectedException.Reason;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Checks untrusted encoded image bytes before any pixel buffer is allocated: a byte cap, then the
 * dimensions from the image <em>header</em> only ({@link ImageReader#getWidth(int)} /
 * {@link ImageReader#getHeight(int)} parse the header, they do not decode pixels), so a few-hundred-byte
 * PNG or JPEG declaring 65535&times;65535 is refused before ImageIO would allocate gigabytes.
 *
 * <p>Bytes are wrapped in a {@link MemoryCacheImageInputStream} rather than
 * {@code ImageIO.createImageInputStream}, which by default spills to a temporary file. Immutable and thread-safe.
 */
public final class ImageGuard {
    public static final long DEFAULT_MAX_BYTES = 20L * 1024 * 1024;
    public static final long DEFAULT_MAX_PIXELS = 40_000_000L;
    public static final double DEFAULT_MAX_ASPECT = 20.0;

    private final long maxBytes;
    private final long maxPixels;
    private final double maxAspect;

    /** Default caps: 20 MiB, 40 megapixels, aspect ratio 20:1. */
    public ImageGuard() {
        this(DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_MAX_ASPECT);
    }

    /**
     * @param maxBytes largest accepted encoded size
     * @param maxPixels largest accepted width*height as declared by the header
     * @param maxAspect largest accepted max(w,h)/min(w,h), &ge; 1
     */
    public ImageGuard(long maxBytes, long maxPixels, double maxAspect) {
        if (maxBytes <= 0 || maxPixels <= 0 || !(maxAspect >= 1.0)) {
            throw new IllegalArgumentException("caps must be positive and aspect >= 1: bytes=" + maxBytes
                    + " pixels=" + maxPixels + " aspect=" + maxAspect);
        }
        this.maxBytes = maxBytes;
        this.maxPixels = maxPixels;
        this.maxAspect = maxAspect;
    }

    public long maxBytes() {
        return maxBytes;
    }

    public long maxPixels() {
        return maxPixels;
    }

    public double maxAspect() {
        return maxAspect;
    }

    /**
     * Reads format and dimensions from the header and applies all caps.
     *
     * @throws ImageRejectedException with the reason the image is refused
     */
    public ImageInfo inspect(byte[] bytes) {
        try (Opened o = open(bytes)) {
            return o.info();
        }
    }

    /** An ImageReader positioned on an accepted image; the decoder continues from here. Caller closes. */
    Opened open(byte[] bytes) {
        checkBytes(bytes);
        ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes));
        ImageReader reader = null;
        try {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new ImageRejectedException(Reason.UNSUPPORTED_FORMAT,
                        "not a recognised image format (first bytes " + hexPrefix(bytes) + ")");
            }
            reader = readers.next();
            reader.setInput(in, true, false);
            String format = reader.getFormatName().toLowerCase(Locale.ROOT);
            int w;
            int h;
            try {
                w = reader.getWidth(0);
                h = reader.getHeight(0);
            } catch (IOException | RuntimeException e) {
                throw new ImageRejectedException(Reason.CORRUPT,
                        "cannot read " + format + " header: " + e.getMessage(), e);
            }
            ImageInfo info = new ImageInfo(format, w, h);
            check(info);
            Opened opened = new Opened(reader, in, info);
            reader = null; // ownership passes to opened
            return opened;
        } catch (IOException e) {
            throw new ImageRejectedException(Reason.CORRUPT, "cannot read image stream: " + e.getMessage(), e);
        } finally {
            if (reader != null) {
                reader.dispose();
                closeQuietly(in);
            }
        }
    }

    /** The checks made before any header is read: not empty, not over the byte cap. */
    void checkBytes(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new ImageRejectedException(Reason.EMPTY, "image has zero bytes");
        }
        if (bytes.length > maxBytes) {
            throw new ImageRejectedException(Reason.TOO_LARGE_BYTES,
                    "image has " + bytes.length + " bytes, cap is " + maxBytes);
        }
    }

    /** The caps on what a header declares: positive size, pixel count, aspect ratio. */
    void check(ImageInfo info) {
        int w = info.width();
        int h = info.height();
        if (w <= 0 || h <= 0) {
            throw new ImageRejectedException(Reason.CORRUPT, info.format() + " header declares " + w + "x" + h);
        }
        if (info.pixels() > maxPixels) {
            throw new ImageRejectedException(Reason.TOO_MANY_PIXELS, info.format() + " header declares " + w + "x" + h
                    + " = " + info.pixels() + " pixels, cap is " + maxPixels);
        }
        double aspect = (double) Math.max(w, h) / Math.min(w, h);
        if (aspect > maxAspect) {
            throw new ImageRejectedException(Reason.BAD_ASPECT, info.format() + " is " + w + "x" + h
                    + " (aspect " + String.format(Locale.ROOT, "%.1f", aspect) + ":1), cap is " + maxAspect + ":1");
        }
    }

    private static String hexPrefix(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(8, b.length); i++) {
            sb.append(String.format(Locale.ROOT, "%02x", b[i] & 0xff));
        }
        return sb.toString();
    }

    static void closeQuietly(ImageInputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // in-memory stream
        }
    }

    /** A reader with its input set and the header accepted. */
    static final class Opened implements AutoCloseable {
        final ImageReader reader;
        final ImageInputStream in;
        final ImageInfo info;

        Opened(ImageReader reader, ImageInputStream in, ImageInfo info) {
            this.reader = reader;
            this.in = in;
            this.info = info;
        }

        ImageInfo info() {
            return info;
        }

        @Override
        public void close() {
            reader.dispose();
            closeQuietly(in);
        }
    }
}
