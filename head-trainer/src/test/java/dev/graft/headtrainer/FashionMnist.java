package dev.graft.headtrainer;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;

/** Reads the gzipped IDX files of Fashion-MNIST (Debian package dataset-fashion-mnist). */
public final class FashionMnist {

    public static final Path DIR = Path.of("/usr/share/datasets/fashion-mnist");
    public static final List<String> CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
            "Shirt", "Sneaker", "Bag", "Ankle boot");

    /** Pixels as floats in [0,1], one row of 784 per image, and labels 0..9. */
    public record Data(float[][] images, int[] labels) {}

    private FashionMnist() {}

    public static boolean available() {
        return Files.isReadable(DIR.resolve("train-images-idx3-ubyte.gz"))
                && Files.isReadable(DIR.resolve("train-labels-idx1-ubyte.gz"))
                && Files.isReadable(DIR.resolve("t10k-images-idx3-ubyte.gz"))
                && Files.isReadable(DIR.resolve("t10k-labels-idx1-ubyte.gz"));
    }

    public static Data train(int limit) throws IOException {
        return read("train", limit);
    }

    public static Data test(int limit) throws IOException {
        return read("t10k", limit);
    }

    private static Data read(String prefix, int limit) throws IOException {
        int[] labels;
        try (DataInputStream in = open(prefix + "-labels-idx1-ubyte.gz")) {
            magic(in, 0x00000801);
            int n = Math.min(limit, in.readInt());
            labels = new int[n];
            for (int i = 0; i < n; i++) {
                labels[i] = in.readUnsignedByte();
            }
        }
        float[][] images;
        try (DataInputStream in = open(prefix + "-images-idx3-ubyte.gz")) {
            magic(in, 0x00000803);
            int n = Math.min(limit, in.readInt());
            int rows = in.readInt();
            int cols = in.readInt();
            byte[] buf = new byte[rows * cols];
            images = new float[n][];
            for (int i = 0; i < n; i++) {
                in.readFully(buf);
                float[] v = new float[buf.length];
                for (int j = 0; j < buf.length; j++) {
                    v[j] = (buf[j] & 0xff) / 255f;
                }
                images[i] = v;
            }
        }
        return new Data(images, labels);
    }

    private static DataInputStream open(String name) throws IOException {
        InputStream raw = Files.newInputStream(DIR.resolve(name));
        return new DataInputStream(new GZIPInputStream(raw, 1 << 16));
    }

    private static void magic(DataInputStream in, int expected) throws IOException {
        int m = in.readInt();
        if (m != expected) {
            throw new IOException("bad IDX magic " + Integer.toHexString(m) + ", expected " + Integer.toHexString(expected));
        }
    }
}
