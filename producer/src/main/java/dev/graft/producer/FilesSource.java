package dev.graft.producer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;

/**
 * Individual image files, unlabelled (e.g. to classify them). Ids are {@code <idPrefix><file name>};
 * two files with the same name are refused (they would collide as keys). Bytes are read lazily and
 * published as they are; the content type is sniffed from the bytes, so a file that is not an image
 * is sent as {@code application/octet-stream} and dead-lettered by the feature worker.
 */
public final class FilesSource implements ImageSource {
    private final List<Path> files;
    private final String idPrefix;
    private int next;

    public FilesSource(List<Path> files) {
        this(files, "");
    }

    /**
     * @throws IllegalArgumentException if the list is empty, a file is missing or two names collide
     */
    public FilesSource(List<Path> files, String idPrefix) {
        Objects.requireNonNull(files, "files");
        this.idPrefix = Objects.requireNonNull(idPrefix, "idPrefix");
        if (files.isEmpty()) {
            throw new IllegalArgumentException("no image files given");
        }
        Map<String, Path> byName = new HashMap<>();
        for (Path f : files) {
            if (!Files.isRegularFile(f)) {
                throw new IllegalArgumentException("image file " + f + " does not exist or is not a regular file");
            }
            if (!Files.isReadable(f)) {
                throw new IllegalArgumentException("image file " + f + " is not readable");
            }
            Path prev = byName.put(f.getFileName().toString(), f);
            if (prev != null) {
                throw new IllegalArgumentException("two files named " + f.getFileName() + " (" + prev + ", " + f
                        + ") would get the same image id");
            }
        }
        this.files = List.copyOf(files);
    }

    @Override
    public long expectedCount() {
        return files.size();
    }

    @Override
    public boolean hasNext() {
        return next < files.size();
    }

    @Override
    public LabelledImage next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        Path f = files.get(next++);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(f);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read image " + f + ": " + e.getMessage(), e);
        }
        return new LabelledImage(idPrefix + f.getFileName(), bytes, ContentTypes.sniff(bytes), null, null);
    }

    @Override
    public String describe() {
        return files.size() + " image file(s)";
    }
}
