package dev.graft.producer;

import dev.graft.common.contract.Split;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;

/**
 * Images of an IDX file pair, each encoded as an 8-bit grayscale PNG (deterministic bytes, no
 * metadata). Ids are {@code <idPrefix>/<index in file>}, e.g. {@code fashion-mnist/train/12345}.
 * Labels are class names when names are given, else the decimal label number.
 */
public final class IdxSource implements ImageSource {
    /** Fashion-MNIST class names, indexed by label value. */
    public static final List<String> FASHION_MNIST_CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress",
            "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
    /** Where the Debian package {@code dataset-fashion-mnist} installs the files. */
    public static final Path FASHION_MNIST_DIR = Path.of("/usr/share/datasets/fashion-mnist");

    private final IdxReader reader;
    private final IdxReader.Cursor cursor;
    private final String idPrefix;
    private final List<String> classNames;
    private final Split split;
    private final GrayPng png;
    private final String description;
    private long consumed;

    private IdxSource(Builder b) throws IOException {
        this.reader = IdxReader.open(b.images, b.labels);
        this.idPrefix = b.idPrefix;
        this.classNames = b.classNames;
        this.split = b.split;
        if (classNames != null && reader.hasLabels() && reader.maxLabel() >= classNames.size()) {
            throw new IllegalArgumentException(b.labels + " has label " + reader.maxLabel() + " but only "
                    + classNames.size() + " class names were given");
        }
        this.cursor = reader.images(b.offset, b.limit);
        this.png = new GrayPng();
        this.description = reader + " as " + idPrefix + "/<index>, offset " + b.offset
                + (b.limit < 0 ? "" : ", limit " + b.limit) + (split == null ? "" : ", split " + split.wire());
    }

    public static Builder builder(Path images, Path labels) {
        return new Builder(images, labels);
    }

    /**
     * Fashion-MNIST from {@code dir}: part {@code train} (split left to hashing) or {@code test}
     * (the {@code t10k} files, split fixed to {@link Split#TEST}); labels are class names.
     *
     * @param limit maximum images, negative for all
     */
    public static IdxSource fashionMnist(Path dir, String part, int offset, int limit) throws IOException {
        String file;
        Split split;
        switch (part) {
            case "train" -> {
                file = "train";
                split = null;
            }
            case "test", "t10k" -> {
                file = "t10k";
                split = Split.TEST;
            }
            default -> throw new IllegalArgumentException("Fashion-MNIST part must be train or test, not '" + part + "'");
        }
        return builder(dir.resolve(file + "-images-idx3-ubyte.gz"), dir.resolve(file + "-labels-idx1-ubyte.gz"))
                .idPrefix("fashion-mnist/" + (split == null ? "train" : "test"))
                .classNames(FASHION_MNIST_CLASSES)
                .split(split)
                .offset(offset)
                .limit(limit)
                .build();
    }

    /** Options of an {@link IdxSource}. */
    public static final class Builder {
        private final Path images;
        private final Path labels;
        private String idPrefix = "idx";
        private List<String> classNames;
        private Split split;
        private int offset;
        private int limit = -1;

        private Builder(Path images, Path labels) {
            this.images = Objects.requireNonNull(images, "images");
            this.labels = labels;
        }

        /** Id prefix; ids are {@code prefix/index}. Default {@code idx}. */
        public Builder idPrefix(String prefix) {
            this.idPrefix = Objects.requireNonNull(prefix, "prefix");
            return this;
        }

        /** Label names by label value; null (default) publishes the label number as text. */
        public Builder classNames(List<String> names) {
            this.classNames = names == null ? null : List.copyOf(names);
            return this;
        }

        /** A fixed split for every image (e.g. TEST for an official test file); null = hash. */
        public Builder split(Split split) {
            this.split = split;
            return this;
        }

        /** Index of the first image to publish. */
        public Builder offset(int offset) {
            this.offset = offset;
            return this;
        }

        /** Maximum number of images, negative for all. */
        public Builder limit(int limit) {
            this.limit = limit;
            return this;
        }

        public IdxSource build() throws IOException {
            return new IdxSource(this);
        }
    }

    public IdxReader reader() {
        return reader;
    }

    @Override
    public long expectedCount() {
        return cursor.remaining() + consumed;
    }

    @Override
    public boolean hasNext() {
        return cursor.hasNext();
    }

    @Override
    public LabelledImage next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        IdxReader.Item item = cursor.next();
        consumed++;
        String label = item.label() < 0 ? null
                : classNames == null ? Integer.toString(item.label()) : classNames.get(item.label());
        return new LabelledImage(idPrefix + "/" + item.index(), encodePng(item.pixels()), ContentTypes.PNG, label, split);
    }

    private byte[] encodePng(byte[] pixels) {
        return png.encode(reader.cols(), reader.rows(), pixels);
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public void close() {
        cursor.close();
        png.close();
    }
}
