package dev.graft.common.base;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.common.contract.BaseRef;
import dev.graft.common.json.Json;
import dev.graft.common.model.Sha256;
import dev.graft.common.serving.HeadArtifact;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;

/**
 * A published fine-tuned base version (format {@value #FORMAT}): a zip of
 * <ul>
 *   <li>{@value #META_ENTRY}: format, task, base version, the {@link BaseRef}, the freeze point (first trainable
 *       layer: DL4J does not save frozen-layer settings), preprocessing and the SHA-256 of the base zip;</li>
 *   <li>{@value #BASE_ENTRY}: DL4J {@code ModelSerializer} zip of the base graph cut at {@code ref.cut}
 *       (output = the cut layer, no updater, nothing frozen);</li>
 *   <li>{@value #HEAD_ENTRY}: the fine-tuned head, format {@code graft-head-zip-v1}.</li>
 * </ul>
 * The base's id is the {@link BaseNetworks} content id of {@value #BASE_ENTRY} loaded as the spec
 * {@code graft-base:TASK/bN} with the recorded cut, size and preprocessing, which equals the id of the same bytes
 * saved as {@code TASK-bN.zip} and loaded as {@code dl4j:.../TASK-bN.zip?pre=PRE}.
 */
public final class BaseArtifact {
    public static final String FORMAT = "graft-base-zip-v1";
    public static final String META_ENTRY = "base.json";
    public static final String BASE_ENTRY = "base.zip";
    public static final String HEAD_ENTRY = "head.zip";

    private final String task;
    private final int version;
    private final BaseRef ref;
    private final String freezePoint;
    private final byte[] baseZip;
    private final byte[] headZip;

    private BaseArtifact(String task, int version, BaseRef ref, String freezePoint, byte[] baseZip, byte[] headZip) {
        this.task = Objects.requireNonNull(task, "task");
        this.version = version;
        this.ref = Objects.requireNonNull(ref, "ref");
        this.freezePoint = freezePoint;
        this.baseZip = baseZip;
        this.headZip = headZip;
    }

    /**
     * Builds the artifact of base version {@code version} of {@code task}: serialises {@code cutBase} (a graph whose
     * output is {@code cut}; frozen wrappers are not allowed, pass the unfrozen graph with the trained weights) and
     * computes its {@link BaseRef} exactly as {@link BaseResolver} will when it loads it.
     *
     * @param headZip the fine-tuned head's artifact ({@code graft-head-zip-v1})
     */
    public static BaseArtifact of(String task, int version, ComputationGraph cutBase, String cut, int inputSize,
                                  Preprocessing preprocessing, String freezePoint, byte[] headZip) {
        if (version < 1) throw new IllegalArgumentException("base versions start at 1, got " + version);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ModelSerializer.writeModel(cutBase, out, false);
            byte[] baseZip = HeadArtifact.normaliseZip(out.toByteArray());
            BaseRef ref = load(task, version, baseZip, cut, inputSize, preprocessing).ref();
            return new BaseArtifact(task, version, ref, freezePoint, baseZip, headZip.clone());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serialise base " + task + "/b" + version, e);
        }
    }

    /** The same base with another head (e.g. the head trained for this base's id, which is known only now). */
    public BaseArtifact withHead(byte[] headZip) {
        return new BaseArtifact(task, version, ref, freezePoint, baseZip, headZip.clone());
    }

    /** Parses an artifact; IllegalArgumentException if it is not one. */
    public static BaseArtifact read(byte[] artifact) {
        try {
            Map<String, byte[]> entries = HeadArtifact.unzip(artifact);
            byte[] meta = entries.get(META_ENTRY);
            byte[] base = entries.get(BASE_ENTRY);
            byte[] head = entries.get(HEAD_ENTRY);
            if (meta == null || base == null || head == null) {
                throw new IllegalArgumentException("not a " + FORMAT + " artifact: entries " + entries.keySet());
            }
            JsonNode m = Json.mapper().readTree(meta);
            if (!FORMAT.equals(m.path("format").asText())) {
                throw new IllegalArgumentException("unsupported base format '" + m.path("format").asText() + "'");
            }
            String sha = Sha256.hex(base);
            if (!sha.equals(m.path("baseZipSha256").asText())) {
                throw new IllegalArgumentException("base.zip sha256 " + sha + " differs from the recorded "
                        + m.path("baseZipSha256").asText());
            }
            BaseRef ref = Json.mapper().treeToValue(m.get("base"), BaseRef.class);
            return new BaseArtifact(m.path("task").asText(), m.path("baseVersion").asInt(), ref,
                    m.hasNonNull("freezePoint") ? m.get("freezePoint").asText() : null, base, head);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read base artifact", e);
        }
    }

    /** The artifact bytes (same content, same bytes: zip entries carry a fixed time). */
    public byte[] toBytes() {
        ObjectNode m = Json.mapper().createObjectNode();
        m.put("format", FORMAT);
        m.put("task", task);
        m.put("baseVersion", version);
        m.set("base", Json.mapper().valueToTree(ref));
        m.put("freezePoint", freezePoint);
        m.put("preprocessing", ref.preprocessing());
        m.put("baseZipSha256", Sha256.hex(baseZip));
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put(META_ENTRY, Json.toBytes(m));
        entries.put(BASE_ENTRY, baseZip);
        entries.put(HEAD_ENTRY, headZip);
        try {
            return HeadArtifact.zip(entries);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write base artifact", e);
        }
    }

    /** Loads the base network, cut at the recorded cut and size; its ref is {@link #ref()}. */
    public BaseNetwork network() {
        BaseNetwork net = load(task, version, baseZip, ref.cut(), ref.inputSize(), Preprocessing.of(ref.preprocessing()));
        if (!net.ref().id().equals(ref.id())) {
            throw new IllegalStateException("base " + spec() + " loads with id " + net.ref().id() + ", recorded "
                    + ref.id());
        }
        return net;
    }

    /** The source (the whole stored graph, output = the cut), e.g. to cut it lower. */
    public BaseNetworks.Source source() {
        return source(task, version, baseZip, Preprocessing.of(ref.preprocessing()), ref.inputSize());
    }

    static BaseNetwork load(String task, int version, byte[] baseZip, String cut, int inputSize, Preprocessing pre) {
        return BaseNetworks.load(source(task, version, baseZip, pre, inputSize), cut, inputSize);
    }

    /** Restored on {@link BaseNetworks#LOADER_THREAD}, as every load (see {@link dev.graft.common.os.OneOffThread}). */
    private static BaseNetworks.Source source(String task, int version, byte[] baseZip, Preprocessing pre,
                                              int inputSize) {
        return dev.graft.common.os.OneOffThread.call(BaseNetworks.LOADER_THREAD,
                () -> restore(task, version, baseZip, pre, inputSize));
    }

    private static BaseNetworks.Source restore(String task, int version, byte[] baseZip, Preprocessing pre,
                                               int inputSize) {
        try {
            ComputationGraph g = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(baseZip), false);
            return new BaseNetworks.Source(BaseSpec.graftBase(task, version), g, Sha256.digest().digest(baseZip),
                    inputSize, pre, BaseNetworks.channelsLast(g, true));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the base graph of " + task + "/b" + version, e);
        }
    }

    public String task() {
        return task;
    }

    public int version() {
        return version;
    }

    public BaseSpec spec() {
        return BaseSpec.graftBase(task, version);
    }

    public BaseRef ref() {
        return ref;
    }

    /** First trainable layer of the fine-tune that produced this base (null if not recorded). */
    public String freezePoint() {
        return freezePoint;
    }

    /** The {@code ModelSerializer} zip of the cut base graph. */
    public byte[] baseZip() {
        return baseZip.clone();
    }

    /** The fine-tuned head's artifact ({@code graft-head-zip-v1}). */
    public byte[] headZip() {
        return headZip.clone();
    }

    /** File name under which {@link #baseZip()} loads as a {@code dl4j:} spec with the same id. */
    public String baseFileName() {
        return spec().shortName() + ".zip";
    }

    @Override
    public String toString() {
        return "BaseArtifact[" + spec() + ", id=" + ref.id() + ", freezePoint=" + freezePoint + "]";
    }
}
