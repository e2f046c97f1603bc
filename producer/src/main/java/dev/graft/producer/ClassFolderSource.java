package dev.graft.producer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A directory with one sub-folder per class, like Keras' {@code flow_from_directory}: the label of an
 * image is the name of the class folder it is in (at any depth below it). Only {@code .jpg},
 * {@code .jpeg} and {@code .png} files (any case) are taken; other files are skipped and counted.
 * Hidden entries (names starting with '.') are ignored entirely, e.g. {@code .ipynb_checkpoints}.
 *
 * <p>The file list is built eagerly at construction in a deterministic order (classes sorted by name,
 * files by relative path); bytes are read lazily in {@link #next()}. Ids are
 * {@code <idPrefix>/<class>/<relative path with '/'>}; the default prefix is the root folder's name.
 */
public final class ClassFolderSource implements ImageSource {
    static final Set<String> EXTENSIONS = Set.of("jpg", "jpeg", "png");

    private final Path root;
    private final String idPrefix;
    private final List<Entry> entries = new ArrayList<>();
    private final Map<String, Integer> perClass = new LinkedHashMap<>();
    private final List<Path> skipped = new ArrayList<>();
    private int next;

    private record Entry(Path file, String label, String id) {}

    public ClassFolderSource(Path root) {
        this(root, null);
    }

    /**
     * @param idPrefix id prefix, or null for the root folder's name
     * @throws IllegalArgumentException if root is missing, has no class folders or no images at all
     * @throws UncheckedIOException if listing fails
     */
    public ClassFolderSource(Path root, String idPrefix) {
        Objects.requireNonNull(root, "root");
        if (!Files.isDirectory(root)) {
            throw new IllegalArgumentException("class folder root " + root + " does not exist or is not a directory");
        }
        this.root = root;
        Path name = root.toAbsolutePath().normalize().getFileName();
        this.idPrefix = idPrefix != null ? idPrefix : name == null ? "images" : name.toString();
        List<Path> classDirs;
        try (Stream<Path> s = Files.list(root)) {
            classDirs = s.filter(Files::isDirectory).filter(p -> !hidden(p))
                    .sorted(Comparator.comparing(p -> p.getFileName().toString())).collect(Collectors.toList());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root + ": " + e.getMessage(), e);
        }
        if (classDirs.isEmpty()) {
            throw new IllegalArgumentException(root + " has no class sub-folders (expected one folder per class "
                    + "holding .jpg/.jpeg/.png files)");
        }
        for (Path dir : classDirs) {
            String label = dir.getFileName().toString();
            List<Path> files;
            try (Stream<Path> s = Files.walk(dir)) {
                files = s.filter(Files::isRegularFile)
                        .filter(p -> !hiddenBelow(dir, p))
                        .sorted(Comparator.comparing(p -> slashPath(dir.relativize(p))))
                        .collect(Collectors.toList());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list class folder " + dir + ": " + e.getMessage(), e);
            }
            int n = 0;
            for (Path f : files) {
                if (EXTENSIONS.contains(extension(f))) {
                    entries.add(new Entry(f, label, this.idPrefix + "/" + label + "/" + slashPath(dir.relativize(f))));
                    n++;
                } else {
                    skipped.add(f);
                }
            }
            perClass.put(label, n);
        }
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("no .jpg/.jpeg/.png images in the class folders of " + root
                    + " (classes " + perClass.keySet() + ", " + skipped.size() + " other files skipped)");
        }
    }

    private static boolean hidden(Path p) {
        return p.getFileName().toString().startsWith(".");
    }

    private static boolean hiddenBelow(Path dir, Path p) {
        for (Path part : dir.relativize(p)) {
            if (part.toString().startsWith(".")) {
                return true;
            }
        }
        return false;
    }

    private static String slashPath(Path relative) {
        StringBuilder sb = new StringBuilder();
        for (Path part : relative) {
            if (sb.length() > 0) {
                sb.append('/');
            }
            sb.append(part);
        }
        return sb.toString();
    }

    static String extension(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot < 0 ? "" : n.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    /** Class names in order. */
    public List<String> classes() {
        return List.copyOf(perClass.keySet());
    }

    /** Number of images per class (0 for an empty class folder), in class order. */
    public Map<String, Integer> countsPerClass() {
        return Collections.unmodifiableMap(perClass);
    }

    /** Files that are not .jpg/.jpeg/.png and were skipped. */
    public List<Path> skippedFiles() {
        return Collections.unmodifiableList(skipped);
    }

    public int skippedCount() {
        return skipped.size();
    }

    @Override
    public long expectedCount() {
        return entries.size();
    }

    @Override
    public boolean hasNext() {
        return next < entries.size();
    }

    @Override
    public LabelledImage next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        Entry e = entries.get(next++);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(e.file());
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot read image " + e.file() + ": " + ex.getMessage(), ex);
        }
        return new LabelledImage(e.id(), bytes, ContentTypes.sniff(bytes), e.label(), null);
    }

    @Override
    public String describe() {
        return "class folders " + root + ": " + entries.size() + " images in " + perClass.size() + " classes"
                + (skipped.isEmpty() ? "" : ", " + skipped.size() + " non-image files skipped");
    }
}
