package dev.graft.common.base;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The nsfwjs@4.4.0 models (MIT), fetched with {@code npm pack} into a local cache on first use and converted
 * from their UMD {@code .min.js} wrappers into the standard TF.js layers format ({@code model.json} + binary
 * shards), with {@code node}.
 *
 * <p>Layout: {@code CACHE/nsfwjs-4.4.0/<model>/model.json}. The directory appears atomically (built in a
 * temporary sibling and moved), so a crashed fetch never leaves a half cache. If {@code CACHE/nsfwjs-4.4.0.tgz}
 * exists it is used instead of running {@code npm pack}.
 */
public final class NsfwjsModels {

    public static final String PACKAGE = "nsfwjs@4.4.0";
    public static final String DIR_NAME = "nsfwjs-4.4.0";
    private static final Logger LOG = LoggerFactory.getLogger(NsfwjsModels.class);
    private static final long TIMEOUT_SECONDS = 300;

    /** Converts every Keras layers model of the package; mobilenet_v2_mid is a TF graph model and is skipped. */
    private static final String CONVERT_JS = """
            const fs = require('fs'), path = require('path');
            const [src, dst] = process.argv.slice(2);
            for (const name of fs.readdirSync(src)) {
              const dir = path.join(src, name);
              if (!fs.existsSync(path.join(dir, 'model.min.js'))) continue;
              const m = require(path.join(dir, 'model.min.js'));
              if (!m.modelTopology || !m.modelTopology.model_config) continue;
              const out = path.join(dst, name);
              fs.mkdirSync(out, { recursive: true });
              for (const g of m.weightsManifest)
                for (const p of g.paths)
                  fs.writeFileSync(path.join(out, p + '.bin'), Buffer.from(require(path.join(dir, p + '.min.js')), 'base64'));
              const manifest = m.weightsManifest.map(g => ({ ...g, paths: g.paths.map(p => p + '.bin') }));
              fs.writeFileSync(path.join(out, 'model.json'), JSON.stringify({
                format: 'layers-model', generatedBy: 'nsfwjs@4.4.0 via Graft', convertedBy: null,
                modelTopology: m.modelTopology, weightsManifest: manifest }));
            }
            """;

    private NsfwjsModels() {}

    /** {@code $GRAFT_HOME/models}, GRAFT_HOME defaulting to {@code ~/.graft}. */
    public static Path defaultCacheDir() {
        String home = System.getenv("GRAFT_HOME");
        Path root = home == null || home.isBlank() ? Path.of(System.getProperty("user.home"), ".graft") : Path.of(home);
        return root.resolve("models");
    }

    /** The {@code model.json} of nsfwjs model {@code name}, fetching and converting the package if needed. */
    public static synchronized Path modelJson(String name, Path cacheDir) {
        if (!BaseSpec.NSFWJS_NAMES.contains(name)) {
            throw new IllegalArgumentException("unknown nsfwjs model '" + name + "'; accepted: " + BaseSpec.NSFWJS_NAMES);
        }
        cacheDir = cacheDir.toAbsolutePath();
        Path dir = cacheDir.resolve(DIR_NAME);
        Path json = dir.resolve(name).resolve("model.json");
        if (Files.isRegularFile(json)) return json;
        fetch(cacheDir);
        if (!Files.isRegularFile(json)) {
            throw new IllegalStateException("nsfwjs cache " + dir + " has no " + name + "/model.json; delete " + dir
                    + " and retry");
        }
        return json;
    }

    private static void fetch(Path cacheDirIn) {
        Path cacheDir = cacheDirIn.toAbsolutePath();
        Path target = cacheDir.resolve(DIR_NAME);
        Path tmp = null;
        try {
            Files.createDirectories(cacheDir);
            tmp = Files.createTempDirectory(cacheDir, ".tmp-" + DIR_NAME + "-");
            Path tgz = cacheDir.resolve(DIR_NAME + ".tgz");
            if (!Files.isRegularFile(tgz)) {
                LOG.info("fetching {} into {}", PACKAGE, cacheDir);
                run(tmp, List.of("npm", "pack", "--silent", PACKAGE), cacheDir);
                tgz = tmp.resolve(DIR_NAME + ".tgz");
                if (!Files.isRegularFile(tgz)) {
                    throw new IllegalStateException("'npm pack " + PACKAGE + "' did not produce " + tgz.getFileName()
                            + " (cache " + cacheDir + ")");
                }
            }
            run(tmp, List.of("tar", "xzf", tgz.toAbsolutePath().toString()), cacheDir);
            Path out = tmp.resolve("out");
            Path script = tmp.resolve("convert.js");
            Files.writeString(script, CONVERT_JS, StandardCharsets.UTF_8);
            run(tmp, List.of("node", script.toString(), tmp.resolve("package/dist/models").toString(), out.toString()),
                    cacheDir);
            try {
                Files.move(out, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
                LOG.info("{} appeared concurrently; using it", target);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IllegalStateException("cannot move " + out + " atomically to " + target, e);
            }
            LOG.info("nsfwjs models cached in {}", target);
        } catch (IOException e) {
            throw new UncheckedIOException("fetching " + PACKAGE + " into cache " + cacheDir + " failed: " + e, e);
        } finally {
            if (tmp != null) deleteTree(tmp);
        }
    }

    private static void run(Path dir, List<String> command, Path cacheDir) throws IOException {
        String cmd = String.join(" ", command);
        Path log = dir.resolve(".cmd.log");
        Process p;
        try {
            p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run '" + cmd + "' (is " + command.get(0)
                    + " installed and on PATH? nsfwjs models need npm and node) for cache " + cacheDir + ": "
                    + e.getMessage(), e);
        }
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("'" + cmd + "' timed out after " + TIMEOUT_SECONDS + " s (cache "
                        + cacheDir + ")");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running '" + cmd + "'", e);
        }
        if (p.exitValue() != 0) {
            String output = Files.exists(log) ? tail(Files.readString(log, StandardCharsets.UTF_8)) : "";
            throw new IllegalStateException("'" + cmd + "' failed with exit code " + p.exitValue() + " (cache "
                    + cacheDir + "): " + output);
        }
    }

    private static String tail(String s) {
        s = s.strip();
        return s.length() > 2000 ? "..." + s.substring(s.length() - 2000) : s;
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) return;
        try (Stream<Path> walk = Files.walk(root)) {
            List<Path> paths = new ArrayList<>(walk.sorted(Comparator.reverseOrder()).toList());
            for (Path path : paths) Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warn("could not delete {}: {}", root, e.toString());
        }
    }
}
