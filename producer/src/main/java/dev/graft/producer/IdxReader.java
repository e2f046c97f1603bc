package dev.graft.producer;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.zip.GZIPInputStream;

/**
 * Reads IDX files (the MNIST / Fashion-MNIST format): an unsigned-byte image file (magic
 * {@code 0x00000803}: count, rows, cols, then count*rows*cols pixels) and optionally an unsigned-byte
 * label file (magic {@code 0x00000801}: count, then count labels). Files may be gzipped (detected from
 * the content, not the name).
 *
 * <p>{@link #open} reads both headers and the labels (one byte per image) and checks magic numbers and
 * that the counts agree. Images are streamed lazily by {@link #images(int, int)}, one at a time, so a
 * 60,000-image file is never held in memory.
 */
public final class IdxReader {
    static final int IMAGES_MAGIC = 0x00000803;
    static final int LABELS_MAGIC = 0x00000801;

    private final Path imagesFile;
    private final Path labelsFile;
    private final int count;
    private final int rows;
    private final int cols;
    private final byte[] labels;

    private IdxReader(Path imagesFile, Path labelsFile, int count, int rows, int cols, byte[] labels) {
        this.imagesFile = imagesFile;
        this.labelsFile = labelsFile;
        this.count = count;
        this.rows = rows;
        this.cols = cols;
        this.labels = labels;
    }

    /**
     * @param images IDX3 unsigned-byte image file
     * @param labels IDX1 unsigned-byte label file, or null for unlabelled images
     * @throws IOException if a file cannot be read or is not a valid IDX file of the expected kind
     */
    public static IdxReader open(Path images, Path labels) throws IOException {
        int n;
        int r;
        int c;
        try (DataInputStream in = new DataInputStream(openMaybeGzipped(images))) {
            int magic = readMagic(in, images);
            if (magic != IMAGES_MAGIC) {
                throw new IOException(images + ": not an IDX unsigned-byte 3-D image file (magic 0x"
                        + hex(magic) + ", expected 0x" + hex(IMAGES_MAGIC) + ")");
            }
            n = in.readInt();
            r = in.readInt();
            c = in.readInt();
            if (n < 0 || r <= 0 || c <= 0) {
                throw new IOException(images + ": invalid IDX dimensions " + n + "x" + r + "x" + c);
            }
        } catch (EOFException e) {
            throw new IOException(images + ": IDX image header is truncated", e);
        }
        if (!isGzipped(images)) {
            long expected = 16L + (long) n * r * c;
            long actual = Files.size(images);
            if (actual != expected) {
                throw new IOException(images + ": size " + actual + " bytes does not match header ("
                        + n + " images of " + r + "x" + c + " = " + expected + " bytes)");
            }
        }
        byte[] lab = null;
        if (labels != null) {
            try (DataInputStream in = new DataInputStream(openMaybeGzipped(labels))) {
                int magic = readMagic(in, labels);
                if (magic != LABELS_MAGIC) {
                    throw new IOException(labels + ": not an IDX unsigned-byte 1-D label file (magic 0x"
                            + hex(magic) + ", expected 0x" + hex(LABELS_MAGIC) + ")");
                }
                int ln = in.readInt();
                if (ln != n) {
                    throw new IOException("label count " + ln + " in " + labels + " does not match image count "
                            + n + " in " + images);
                }
                lab = new byte[n];
                in.readFully(lab);
                if (in.read() != -1) {
                    throw new IOException(labels + ": trailing bytes after " + n + " labels");
                }
            } catch (EOFException e) {
                throw new IOException(labels + ": truncated (header says " + n + " labels)", e);
            }
        }
        return new IdxReader(images, labels, n, r, c, lab);
    }

    public int count() {
        return count;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public boolean hasLabels() {
        return labels != null;
    }

    /** Label (0..255) of image {@code index}; -1 if there is no label file. */
    public int label(int index) {
        if (index < 0 || index >= count) {
            throw new IndexOutOfBoundsException("image " + index + " of " + count);
        }
        return labels == null ? -1 : labels[index] & 0xff;
    }

    /** Largest label value, or -1 without labels (to check against a list of class names). */
    public int maxLabel() {
        int max = -1;
        if (labels != null) {
            for (byte b : labels) {
                max = Math.max(max, b & 0xff);
            }
        }
        return max;
    }

    /** One image: {@code pixels} is rows*cols unsigned bytes in row-major order. */
    public record Item(int index, int label, byte[] pixels) {}

    /**
     * Streams images {@code [offset, offset+limit)} (clipped to the file) lazily. Close the cursor to
     * release the file. A file shorter than its header says fails with an {@link UncheckedIOException}.
     *
     * @param limit maximum number of images, or a negative number for all
     */
    public Cursor images(int offset, int limit) throws IOException {
        if (offset < 0) {
            throw new IllegalArgumentException("offset must be >= 0: " + offset);
        }
        int from = Math.min(offset, count);
        int to = limit < 0 ? count : (int) Math.min(count, (long) from + limit);
        return new Cursor(from, to);
    }

    /** Lazy iterator over images of an {@link IdxReader}. */
    public final class Cursor implements Iterator<Item>, Closeable {
        private final DataInputStream in;
        private final int to;
        private int next;

        private Cursor(int from, int to) throws IOException {
            this.in = new DataInputStream(openMaybeGzipped(imagesFile));
            this.to = to;
            this.next = from;
            try {
                in.skipNBytes(16L + (long) from * rows * cols);
            } catch (EOFException e) {
                in.close();
                throw new IOException(imagesFile + " ends before image " + from + " (header says " + count + ")", e);
            }
        }

        /** Images left in this cursor. */
        public int remaining() {
            return to - next;
        }

        @Override
        public boolean hasNext() {
            return next < to;
        }

        @Override
        public Item next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            byte[] px = new byte[rows * cols];
            try {
                in.readFully(px);
            } catch (EOFException e) {
                throw new UncheckedIOException(new IOException(imagesFile + " ends in image " + next
                        + " (header says " + count + " images)", e));
            } catch (IOException e) {
                throw new UncheckedIOException(imagesFile + ": read failed at image " + next + ": " + e.getMessage(), e);
            }
            int i = next++;
            return new Item(i, label(i), px);
        }

        @Override
        public void close() {
            try {
                in.close();
            } catch (IOException ignored) {
                // read-only
            }
        }
    }

    @Override
    public String toString() {
        return "IDX " + imagesFile + (labelsFile == null ? "" : " + " + labelsFile) + " (" + count + " images "
                + rows + "x" + cols + ")";
    }

    private static int readMagic(DataInputStream in, Path file) throws IOException {
        try {
            return in.readInt();
        } catch (EOFException e) {
            throw new IOException(file + ": empty or shorter than an IDX header", e);
        }
    }

    private static String hex(int v) {
        return String.format("%08x", v);
    }

    private static boolean isGzipped(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.read() == 0x1f && in.read() == 0x8b;
        }
    }

    static InputStream openMaybeGzipped(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "IDX file does not exist or is not a regular file");
        }
        InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        try {
            raw.mark(2);
            boolean gz = raw.read() == 0x1f && raw.read() == 0x8b;
            raw.reset();
            return gz ? new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16) : raw;
        } catch (IOException e) {
            raw.close();
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }
}
