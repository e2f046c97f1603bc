package dev.graft.common.base;

import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.model.ModelRegistry;
import dev.graft.common.model.Sha256;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads base networks from any spec, including published fine-tuned bases ({@code graft-base:TASK/bN}): those
 * are looked up on the model registry ({@code base-published} event of the task with that base version),
 * fetched (sha256 verified), cached under {@code BASES_DIR/<baseId>/} and loaded; the loaded base's id is
 * checked against the event's. Other specs go to {@link BaseNetworks#load(String, String, int, Path)}.
 *
 * <p>Cache layout: {@code artifact.zip} (as fetched), {@code TASK-bN.zip} (the base graph, loadable as a
 * {@code dl4j:} spec with the same id), {@code head.zip}. The directory is built next to its final place
 * (files fsynced) and moved atomically, so a crash never leaves a half cache; a cached artifact whose sha256 no
 * longer matches the event is fetched again. Not thread-safe for the same base across processes beyond that
 * (two writers race harmlessly: the first move wins).
 */
public final class BaseResolver {
    private static final Logger log = LoggerFactory.getLogger(BaseResolver.class);
    static final String ARTIFACT_FILE = "artifact.zip";

    private final ModelRegistry registry;
    private final Path basesDir;
    private final Path modelCacheDir;

    /**
     * @param registry where {@code graft-base:} specs are looked up (null: only other specs can be loaded)
     * @param basesDir cache of published bases (see {@link #defaultBasesDir()})
     * @param modelCacheDir cache of nsfwjs models (see {@link BaseNetworks#defaultCacheDir()})
     */
    public BaseResolver(ModelRegistry registry, Path basesDir, Path modelCacheDir) {
        this.registry = registry;
        this.basesDir = basesDir;
        this.modelCacheDir = modelCacheDir;
    }

    /** {@code $GRAFT_HOME/bases}, GRAFT_HOME defaulting to {@code ~/.graft}. */
    public static Path defaultBasesDir() {
        return NsfwjsModels.defaultCacheDir().resolveSibling("bases");
    }

    /**
     * Loads {@code spec} cut at {@code cut} (null: for a published base its recorded cut, else the default)
     * at {@code inputSize} (0: recorded/native).
     */
    public BaseNetwork load(String spec, String cut, int inputSize) {
        BaseSpec s = BaseSpec.parse(spec);
        if (!s.isGraftBase()) {
            return BaseNetworks.load(spec, cut, inputSize, modelCacheDir);
        }
        ModelUpdateEvent event = event(s);
        BaseArtifact a = artifact(s, event);
        String c = cut == null || cut.isBlank() ? a.ref().cut() : cut.trim();
        int size = inputSize > 0 ? inputSize : a.ref().inputSize();
        BaseNetwork net = BaseNetworks.load(a.source(), c, size);
        if (c.equals(a.ref().cut()) && size == a.ref().inputSize() && !net.ref().id().equals(event.base().id())) {
            throw new IllegalStateException(s + " loads with base id " + net.ref().id() + " but its event names "
                    + event.base().id());
        }
        return net;
    }

    /** The full source of a spec (for a published base: its stored graph, output = its cut). */
    public BaseNetworks.Source loadSource(String spec) {
        BaseSpec s = BaseSpec.parse(spec);
        if (!s.isGraftBase()) {
            return BaseNetworks.loadSource(s, modelCacheDir, BaseNetworks.defaultZooDir(), BaseNetworks.offline());
        }
        return artifact(s).source();
    }

    /** The artifact of a published base, from the cache or fetched into it. */
    public BaseArtifact artifact(BaseSpec spec) {
        return artifact(spec, event(spec));
    }

    private ModelUpdateEvent event(BaseSpec spec) {
        if (!spec.isGraftBase()) throw new IllegalArgumentException(spec + " is not a graft-base spec");
        if (registry == null) throw new IllegalStateException("no model registry to resolve " + spec);
        return registry.base(spec.baseTask(), spec.baseVersion()).orElseThrow(() -> new IllegalArgumentException(
                "no base version " + spec.baseVersion() + " of task '" + spec.baseTask() + "' on the model registry"));
    }

    private BaseArtifact artifact(BaseSpec spec, ModelUpdateEvent event) {
        if (event.base() == null || event.artifact() == null) {
            throw new IllegalStateException("base-published event of " + spec + " has no base or artifact");
        }
        Path dir = basesDir.resolve(safe(event.base().id()));
        Path cached = dir.resolve(ARTIFACT_FILE);
        try {
            if (Files.isRegularFile(cached)) {
                byte[] bytes = Files.readAllBytes(cached);
                if (Sha256.hex(bytes).equals(event.artifact().sha256())) {
                    return BaseArtifact.read(bytes);
                }
                log.warn("cached base {} does not match its sha256; fetching it again", dir);
                deleteTree(dir);
            }
            byte[] bytes = registry.fetch(event.artifact());
            BaseArtifact a = BaseArtifact.read(bytes);
            store(dir, a, bytes);
            return a;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot cache base " + spec + " in " + dir, e);
        }
    }

    private static void store(Path dir, BaseArtifact a, byte[] artifact) throws IOException {
        Files.createDirectories(dir.getParent());
        Path tmp = dir.resolveSibling(".tmp-" + dir.getFileName() + "-" + UUID.randomUUID());
        Files.createDirectory(tmp);
        try {
            write(tmp.resolve(a.baseFileName()), a.baseZip());
            write(tmp.resolve(BaseArtifact.HEAD_ENTRY), a.headZip());
            write(tmp.resolve(ARTIFACT_FILE), artifact); // last: its presence marks a complete directory
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (java.nio.file.FileSystemException e) {
                if (!Files.isRegularFile(dir.resolve(ARTIFACT_FILE))) throw e;
                log.debug("base {} was cached concurrently", dir);
            }
        } finally {
            deleteTree(tmp);
        }
    }

    private static void write(Path p, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) ch.write(b);
            ch.force(true);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }

    private static String safe(String id) {
        return id.replaceAll("[^A-Za-z0-9_.-]", "_");
    }
}
