package dev.graft.app;

import com.fasterxml.jackson.databind.JsonNode;
import dev.graft.common.json.Json;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The PyTorch peer of {@code graft bench features}: runs {@code tools/bench/torch_mobilenet_v2.py} with Debian's
 * interpreter (by default {@code /usr/bin/python3}, which sees the {@code python3-torch} package; a pyenv or venv
 * {@code python3} on PATH usually does not). Missing torch is not an error: {@link #availability()} says so.
 */
public final class TorchPeer {
    public static final Path DEFAULT_PYTHON = Path.of("/usr/bin/python3");
    public static final Path DEFAULT_SCRIPT = Path.of("tools/bench/torch_mobilenet_v2.py");
    public static final String SKIPPED = "torch: skipped (install Debian python3-torch python3-torchvision)";

    public record Availability(boolean available, String version, String detail) {}

    public record Measurement(double imgS, double cpuMsPerImg, String impl) {}

    private final Path python;
    private final Path script;

    public TorchPeer(Path python, Path script) {
        this.python = python;
        this.script = locate(script);
    }

    /** A relative script missing in the working directory is looked up in the checkout the jar was built in. */
    static Path locate(Path script) {
        if (script.isAbsolute() || Files.exists(script)) return script;
        try {
            Path jar = Path.of(TorchPeer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            // app/target/graft-app.jar or app/target/classes -> the checkout root
            Path root = jar.getParent() == null ? null : jar.getParent().getParent();
            if (root != null && root.getParent() != null && Files.exists(root.getParent().resolve(script))) {
                return root.getParent().resolve(script);
            }
        } catch (Exception e) {
            // keep the given path; availability() reports it missing
        }
        return script;
    }

    public Path script() {
        return script;
    }

    public Path python() {
        return python;
    }

    /** Whether {@code import torch} works in the interpreter (and the script exists). Never throws. */
    public Availability availability() {
        if (!Files.isExecutable(python)) return new Availability(false, null, python + " not found");
        if (!Files.isRegularFile(script)) return new Availability(false, null, "script " + script + " not found");
        try {
            Proc p = exec(List.of(python.toString(), "-c", "import torch; print(torch.__version__)"), 120);
            if (p.code != 0) return new Availability(false, null, lastLine(p.err));
            return new Availability(true, p.out.strip(), null);
        } catch (IOException e) {
            return new Availability(false, null, e.getMessage());
        }
    }

    public Measurement measure(int resolution, int batch, int images, int warmupBatches, int threads) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(python.toString(), script.toString(),
                "--resolution", String.valueOf(resolution), "--batch", String.valueOf(batch),
                "--images", String.valueOf(images), "--warmup", String.valueOf(warmupBatches),
                "--threads", String.valueOf(threads)));
        Proc p = exec(cmd, 1800);
        if (p.code != 0) throw new IOException("torch script exited " + p.code + ": " + lastLine(p.err));
        return parse(p.out);
    }

    /** Parses the script's one JSON line. */
    static Measurement parse(String stdout) {
        String line = stdout.strip();
        int nl = line.lastIndexOf('\n');
        if (nl >= 0) line = line.substring(nl + 1);
        JsonNode n = Json.fromBytes(line.getBytes(StandardCharsets.UTF_8), JsonNode.class);
        if (!n.hasNonNull("img_s")) throw new IllegalArgumentException("no img_s in torch output: " + line);
        return new Measurement(n.get("img_s").asDouble(), n.path("cpu_ms_per_img").asDouble(Double.NaN),
                n.path("impl").asText(null));
    }

    private record Proc(int code, String out, String err) {}

    private static Proc exec(List<String> cmd, long timeoutS) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Path err = Files.createTempFile("graft-torch", ".err");
        try {
            pb.redirectError(err.toFile());
            Process proc = pb.start();
            String out;
            try (InputStream in = proc.getInputStream()) {
                out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            if (!proc.waitFor(timeoutS, TimeUnit.SECONDS)) {
                proc.destroyForcibly();
                throw new IOException(cmd.get(0) + " timed out after " + timeoutS + " s");
            }
            return new Proc(proc.exitValue(), out, Files.readString(err));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } finally {
            Files.deleteIfExists(err);
        }
    }

    private static String lastLine(String s) {
        String t = s.strip();
        int nl = t.lastIndexOf('\n');
        return nl >= 0 ? t.substring(nl + 1) : t;
    }
}
