package dev.graft.producer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClassFolderSourceTest {
    @TempDir
    Path tmp;

    static byte[] image(String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), format, out);
        return out.toByteArray();
    }

    @Test
    void labelsFromFoldersInSortedOrderSkippingOtherFiles() throws IOException {
        Path root = tmp.resolve("pets");
        Files.createDirectories(root.resolve("dog/nested"));
        Files.createDirectories(root.resolve("cat"));
        Files.createDirectories(root.resolve("empty"));
        Files.createDirectories(root.resolve(".ipynb_checkpoints"));
        Files.write(root.resolve("dog/b.JPG"), image("jpeg"));
        Files.write(root.resolve("dog/a.png"), image("png"));
        Files.write(root.resolve("dog/nested/c.jpeg"), image("jpeg"));
        Files.writeString(root.resolve("dog/notes.txt"), "skip me");
        Files.write(root.resolve("cat/z.png"), image("png"));
        Files.write(root.resolve("cat/.hidden.png"), image("png"));
        Files.write(root.resolve("cat/y.gif"), image("gif"));
        Files.write(root.resolve(".ipynb_checkpoints/x.png"), image("png"));
        Files.writeString(root.resolve("README"), "top-level file, not a class");

        ClassFolderSource s = new ClassFolderSource(root);
        assertThat(s.classes()).containsExactly("cat", "dog", "empty");
        assertThat(s.countsPerClass()).containsExactly(
                java.util.Map.entry("cat", 1), java.util.Map.entry("dog", 3), java.util.Map.entry("empty", 0));
        assertThat(s.skippedCount()).isEqualTo(2);
        assertThat(s.expectedCount()).isEqualTo(4);
        assertThat(s.describe()).contains("4 images in 3 classes", "2 non-image files skipped");
        List<LabelledImage> got = new ArrayList<>();
        s.forEachRemaining(got::add);
        assertThat(got).extracting(LabelledImage::id).containsExactly(
                "pets/cat/z.png", "pets/dog/a.png", "pets/dog/b.JPG", "pets/dog/nested/c.jpeg");
        assertThat(got).extracting(LabelledImage::label).containsExactly("cat", "dog", "dog", "dog");
        assertThat(got).extracting(LabelledImage::contentType)
                .containsExactly(ContentTypes.PNG, ContentTypes.PNG, ContentTypes.JPEG, ContentTypes.JPEG);
        assertThat(got.get(0).bytes()).isEqualTo(Files.readAllBytes(root.resolve("cat/z.png")));

        assertThat(new ClassFolderSource(root, "x").next().id()).isEqualTo("x/cat/z.png");
    }

    @Test
    void unreadableInputsHaveClearMessages() throws IOException {
        assertThatThrownBy(() -> new ClassFolderSource(tmp.resolve("nope")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not exist");
        Path flat = tmp.resolve("flat");
        Files.createDirectories(flat);
        Files.write(flat.resolve("a.png"), image("png"));
        assertThatThrownBy(() -> new ClassFolderSource(flat))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no class sub-folders");
        Path empty = tmp.resolve("emptyclasses");
        Files.createDirectories(empty.resolve("a"));
        Files.createDirectories(empty.resolve("b"));
        Files.writeString(empty.resolve("b/readme.md"), "x");
        assertThatThrownBy(() -> new ClassFolderSource(empty))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no .jpg/.jpeg/.png images")
                .hasMessageContaining("[a, b]");
    }

    @Test
    void filesSource() throws IOException {
        Path a = tmp.resolve("a.png");
        Files.write(a, image("png"));
        Path sub = Files.createDirectories(tmp.resolve("sub"));
        Path b = sub.resolve("b.jpg");
        Files.write(b, image("jpeg"));
        FilesSource s = new FilesSource(List.of(a, b), "upload/");
        assertThat(s.expectedCount()).isEqualTo(2);
        LabelledImage first = s.next();
        assertThat(first.id()).isEqualTo("upload/a.png");
        assertThat(first.label()).isNull();
        assertThat(first.split()).isNull();
        assertThat(s.next().contentType()).isEqualTo(ContentTypes.JPEG);
        assertThat(s.hasNext()).isFalse();

        assertThatThrownBy(() -> new FilesSource(List.of(a, tmp.resolve("missing.png"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("missing.png does not exist");
        Path a2 = sub.resolve("a.png");
        Files.write(a2, image("png"));
        assertThatThrownBy(() -> new FilesSource(List.of(a, a2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("same image id");
        assertThatThrownBy(() -> new FilesSource(List.of())).isInstanceOf(IllegalArgumentException.class);
    }
}
