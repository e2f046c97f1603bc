package dev.graft.producer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.graft.common.contract.Split;
import dev.graft.common.image.ImageDecoder;
import dev.graft.common.image.RgbImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {
    @TempDir
    Path dir;

    /** n images of rows x cols where pixel (r, c) of image i is (i*7 + r*cols + c) mod 256; label i mod 10. */
    static void writeIdx(Path images, Path labels, int n, int rows, int cols, boolean gzip) throws IOException {
        ByteArrayOutputStream img = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(img);
        d.writeInt(IdxReader.IMAGES_MAGIC);
        d.writeInt(n);
        d.writeInt(rows);
        d.writeInt(cols);
        for (int i = 0; i < n; i++) {
            for (int p = 0; p < rows * cols; p++) {
                d.write((i * 7 + p) & 0xff);
            }
        }
        ByteArrayOutputStream lab = new ByteArrayOutputStream();
        DataOutputStream l = new DataOutputStream(lab);
        l.writeInt(IdxReader.LABELS_MAGIC);
        l.writeInt(n);
        for (int i = 0; i < n; i++) {
            l.write(i % 10);
        }
        write(images, img.toByteArray(), gzip);
        write(labels, lab.toByteArray(), gzip);
    }

    private static void write(Path p, byte[] b, boolean gzip) throws IOException {
        try (OutputStream o = gzip ? new GZIPOutputStream(Files.newOutputStream(p)) : Files.newOutputStream(p)) {
            o.write(b);
        }
    }

    @Test
    void readsPlainAndGzippedIdxLazily() throws IOException {
        for (boolean gz : new boolean[] {false, true}) {
            Path im = dir.resolve("im" + gz);
            Path lb = dir.resolve("lb" + gz);
            writeIdx(im, lb, 25, 3, 4, gz);
            IdxReader r = IdxReader.open(im, lb);
            assertThat(r.count()).isEqualTo(25);
            assertThat(r.rows()).isEqualTo(3);
            assertThat(r.cols()).isEqualTo(4);
            assertThat(r.label(13)).isEqualTo(3);
            List<IdxReader.Item> items = new ArrayList<>();
            try (IdxReader.Cursor c = r.images(20, 100)) {
                assertThat(c.remaining()).isEqualTo(5);
                c.forEachRemaining(items::add);
            }
            assertThat(items).extracting(IdxReader.Item::index).containsExactly(20, 21, 22, 23, 24);
            IdxReader.Item it = items.get(1);
            assertThat(it.label()).isEqualTo(1);
            assertThat(it.pixels()).hasSize(12);
            assertThat(it.pixels()[5] & 0xff).isEqualTo((21 * 7 + 5) & 0xff);
        }
    }

    @Test
    void badMagicAndMismatchedCountsAreClearErrors() throws IOException {
        Path im = dir.resolve("im");
        Path lb = dir.resolve("lb");
        writeIdx(im, lb, 5, 2, 2, false);
        // labels file given as the images file
        assertThatThrownBy(() -> IdxReader.open(lb, lb)).isInstanceOf(IOException.class)
                .hasMessageContaining("not an IDX unsigned-byte 3-D image file").hasMessageContaining("00000801");
        assertThatThrownBy(() -> IdxReader.open(im, im)).isInstanceOf(IOException.class)
                .hasMessageContaining("not an IDX unsigned-byte 1-D label file");
        Path im7 = dir.resolve("im7");
        Path lb7 = dir.resolve("lb7");
        writeIdx(im7, lb7, 7, 2, 2, true);
        assertThatThrownBy(() -> IdxReader.open(im, lb7)).isInstanceOf(IOException.class)
                .hasMessageContaining("label count 7").hasMessageContaining("image count 5");
        Path text = dir.resolve("text");
        Files.writeString(text, "hello world, not idx");
        assertThatThrownBy(() -> IdxReader.open(text, null)).isInstanceOf(IOException.class)
                .hasMessageContaining("magic 0x68656c6c");
        assertThatThrownBy(() -> IdxReader.open(dir.resolve("missing"), null)).isInstanceOf(IOException.class)
                .hasMessageContaining("missing");
    }

    @Test
    void truncatedFilesAreReported() throws IOException {
        Path im = dir.resolve("im");
        Path lb = dir.resolve("lb");
        writeIdx(im, lb, 5, 2, 2, false);
        byte[] b = Files.readAllBytes(im);
        Files.write(im, java.util.Arrays.copyOf(b, b.length - 3));
        assertThatThrownBy(() -> IdxReader.open(im, lb)).isInstanceOf(IOException.class)
                .hasMessageContaining("does not match header");
        // gzipped: detected while streaming
        Path gz = dir.resolve("im.gz");
        write(gz, java.util.Arrays.copyOf(b, b.length - 3), true);
        IdxReader r = IdxReader.open(gz, lb);
        try (IdxReader.Cursor c = r.images(0, -1)) {
            assertThatThrownBy(() -> c.forEachRemaining(x -> { })).isInstanceOf(UncheckedIOException.class)
                    .hasMessageContaining("ends in image 4");
        }
    }

    @Test
    void idxSourceEncodesPngWithIdsLabelsAndOptions() throws IOException {
        Path im = dir.resolve("im.gz");
        Path lb = dir.resolve("lb.gz");
        writeIdx(im, lb, 30, 28, 28, true);
        List<LabelledImage> got = new ArrayList<>();
        try (IdxSource s = IdxSource.builder(im, lb).idPrefix("fashion-mnist/train")
                .classNames(IdxSource.FASHION_MNIST_CLASSES).offset(10).limit(4).build()) {
            assertThat(s.expectedCount()).isEqualTo(4);
            s.forEachRemaining(got::add);
            assertThat(s.expectedCount()).isEqualTo(4);
        }
        assertThat(got).extracting(LabelledImage::id).containsExactly("fashion-mnist/train/10",
                "fashion-mnist/train/11", "fashion-mnist/train/12", "fashion-mnist/train/13");
        assertThat(got).extracting(LabelledImage::label).containsExactly("T-shirt/top", "Trouser", "Pullover", "Dress");
        assertThat(got).extracting(LabelledImage::split).containsOnlyNulls();
        assertThat(got).extracting(LabelledImage::contentType).containsOnly(ContentTypes.PNG);
        RgbImage rgb = new ImageDecoder().decode(got.get(0).bytes());
        assertThat(rgb.width()).isEqualTo(28);
        assertThat(rgb.get(5, 1, 0)).isEqualTo((10 * 7 + 28 + 5) & 0xff);
        assertThat(rgb.get(5, 1, 2)).isEqualTo(rgb.get(5, 1, 0));
        // every pixel round-trips through the PNG encoder (checked with ImageIO's reader directly too)
        java.awt.image.BufferedImage back = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(got.get(3).bytes()));
        assertThat(back.getType()).isEqualTo(java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                assertThat(back.getRaster().getSample(x, y, 0)).isEqualTo((13 * 7 + y * 28 + x) & 0xff);
            }
        }

        // numeric labels without names, fixed split
        try (IdxSource s = IdxSource.builder(im, lb).split(Split.TEST).limit(2).build()) {
            LabelledImage first = s.next();
            assertThat(first.id()).isEqualTo("idx/0");
            assertThat(first.label()).isEqualTo("0");
            assertThat(first.split()).isEqualTo(Split.TEST);
        }
        // too few class names
        assertThatThrownBy(() -> IdxSource.builder(im, lb).classNames(List.of("a", "b")).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("label 9");
    }

    @Test
    void realFashionMnistFirstHundred() throws IOException {
        Path d = IdxSource.FASHION_MNIST_DIR;
        Assumptions.assumeTrue(Files.isRegularFile(d.resolve("train-images-idx3-ubyte.gz")), "Fashion-MNIST not installed");
        IdxReader r = IdxReader.open(d.resolve("train-images-idx3-ubyte.gz"), d.resolve("train-labels-idx1-ubyte.gz"));
        assertThat(r.count()).isEqualTo(60_000);
        assertThat(r.rows()).isEqualTo(28);
        assertThat(r.cols()).isEqualTo(28);
        assertThat(r.maxLabel()).isEqualTo(9);
        List<LabelledImage> got = new ArrayList<>();
        try (IdxSource s = IdxSource.fashionMnist(d, "train", 0, 100)) {
            s.forEachRemaining(got::add);
        }
        assertThat(got).hasSize(100);
        assertThat(got.get(0).id()).isEqualTo("fashion-mnist/train/0");
        // the first training image of Fashion-MNIST is an ankle boot, the second a T-shirt/top
        assertThat(got.get(0).label()).isEqualTo("Ankle boot");
        assertThat(got.get(1).label()).isEqualTo("T-shirt/top");
        assertThat(got).extracting(LabelledImage::label).isSubsetOf(IdxSource.FASHION_MNIST_CLASSES);
        ImageDecoder dec = new ImageDecoder();
        for (LabelledImage li : got) {
            assertThat(dec.decode(li.bytes()).width()).isEqualTo(28);
        }
        try (IdxSource t = IdxSource.fashionMnist(d, "test", 9_998, -1)) {
            assertThat(t.expectedCount()).isEqualTo(2);
            LabelledImage li = t.next();
            assertThat(li.id()).isEqualTo("fashion-mnist/test/9998");
            assertThat(li.split()).isEqualTo(Split.TEST);
        }
    }
}
