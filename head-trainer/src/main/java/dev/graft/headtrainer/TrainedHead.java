package dev.graft.headtrainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.common.json.Json;
import dev.graft.common.serving.HeadArtifact;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A trained classifier head: a DL4J network over (optionally standardised) bottleneck vectors,
 * with the label names of its outputs.
 *
 * <p><b>Artifact</b> ({@link #toBytes()}, format {@value #FORMAT}; applications read it with
 * {@link HeadArtifact} in common, which this class also uses to read it back): a zip of
 * <ul>
 *   <li>{@code model.zip}: the network as written by {@link ModelSerializer} (no updater state),
 *       loadable on its own with {@code ModelSerializer.restoreMultiLayerNetwork};</li>
 *   <li>{@code head.json}: format, task, base id, input dim, labels (output order), config, training info
 *       (without its wall time, which is not content: {@link TrainingInfo#trainMillis()} reads -1 after a round trip);</li>
 *   <li>{@code standardizer.bin} (only if standardising): int dim, then dim floats mean, dim floats
 *       scale, big-endian (binary so the floats round-trip exactly).</li>
 * </ul>
 * All zip entries carry a fixed timestamp, so the same head always gives the same bytes and
 * {@link #sha256()} identifies the content. Weights are stored in binary: predictions after
 * {@link #fromBytes(byte[])} are bit-identical.
 *
 * <p>Prediction is synchronized (a DL4J network is not thread-safe).
 */
public final class TrainedHead {

    public static final String FORMAT = HeadArtifact.FORMAT;
    static final String MODEL_ENTRY = HeadArtifact.MODEL_ENTRY;
    static final String META_ENTRY = HeadArtifact.META_ENTRY;
    static final String STANDARDIZER_ENTRY = HeadArtifact.STANDARDIZER_ENTRY;

    private final MultiLayerNetwork network;
    private final List<String> labels;
    private final HeadConfig config;
    private final Standardizer standardizer;
    private final String task;
    private final String baseId;
    private final int inputDim;
    private final TrainingInfo info;
    private byte[] bytes;

    TrainedHead(MultiLayerNetwork network, List<String> labels, HeadConfig config, Standardizer standardizer,
                String task, String baseId, int inputDim, TrainingInfo info) {
        this.network = Objects.requireNonNull(network, "network");
        this.labels = List.copyOf(labels);
        this.config = Objects.requireNonNull(config, "config");
        this.standardizer = standardizer;
        this.task = task;
        this.baseId = baseId;
        this.inputDim = inputDim;
        this.info = info;
        if (config.standardize() != (standardizer != null)) {
            throw new IllegalArgumentException("config.standardize=" + config.standardize()
                    + " but standardizer " + (standardizer == null ? "absent" : "present"));
        }
    }

    /**
     * A head from an already trained network (e.g. fine-tuned elsewhere); {@code standardizer} must be present
     * exactly when {@code config.standardize()}.
     */
    public static TrainedHead of(MultiLayerNetwork network, List<String> labels, HeadConfig config,
                                 Standardizer standardizer, String task, String baseId, int inputDim,
                                 TrainingInfo info) {
        return new TrainedHead(network, labels, config, standardizer, task, baseId, inputDim, info);
    }

    public List<String> labels() {
        return labels;
    }

    public int labelCount() {
        return labels.size();
    }

    public HeadConfig config() {
        return config;
    }

    public Optional<Standardizer> standardizer() {
        return Optional.ofNullable(standardizer);
    }

    public String task() {
        return task;
    }

    public String baseId() {
        return baseId;
    }

    public int inputDim() {
        return inputDim;
    }

    public TrainingInfo info() {
        return info;
    }

    /** The underlying network (expects standardised input if {@link #standardizer()} is present). */
    public MultiLayerNetwork network() {
        return network;
    }

    /** Class probabilities [n, k] for raw feature rows [n, inputDim]. */
    public synchronized INDArray predict(INDArray features) {
        if (features.rank() != 2 || features.columns() != inputDim) {
            throw new IllegalArgumentException("expected [n, " + inputDim + "] features, got "
                    + java.util.Arrays.toString(features.shape()));
        }
        INDArray x = standardizer == null ? features.castTo(DataType.FLOAT) : standardizer.apply(features);
        return network.output(x, false);
    }

    /** Class probabilities (length k) for one raw feature vector. */
    public float[] predict(float[] vector) {
        INDArray x = Nd4j.create(vector, new long[] {1, vector.length}, DataType.FLOAT);
        return predict(x).toFloatVector();
    }

    /** The artifact bytes (computed once, then cached: the head is immutable once built). */
    public synchronized byte[] toBytes() {
        if (bytes == null) {
            bytes = serialise();
        }
        return bytes.clone();
    }

    /** Hex SHA-256 of {@link #toBytes()}. */
    public String sha256() {
        return sha256(toBytes());
    }

    public static String sha256(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by the JVM spec", e);
        }
    }

    private byte[] serialise() {
        try {
            ByteArrayOutputStream model = new ByteArrayOutputStream();
            ModelSerializer.writeModel(network, model, false);
            Map<String, byte[]> entries = new LinkedHashMap<>();
            entries.put(META_ENTRY, metaJson());
            entries.put(MODEL_ENTRY, normaliseZip(model.toByteArray()));
            if (standardizer != null) {
                ByteArrayOutputStream s = new ByteArrayOutputStream();
                DataOutputStream out = new DataOutputStream(s);
                out.writeInt(standardizer.dim());
                for (float v : standardizer.mean()) {
                    out.writeFloat(v);
                }
                for (float v : standardizer.scale()) {
                    out.writeFloat(v);
                }
                out.flush();
                entries.put(STANDARDIZER_ENTRY, s.toByteArray());
            }
            return zip(entries);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serialise head", e);
        }
    }

    private byte[] metaJson() {
        ObjectNode m = Json.mapper().createObjectNode();
        m.put("format", FORMAT);
        m.put("task", task);
        m.put("baseId", baseId);
        m.put("inputDim", inputDim);
        m.set("labels", Json.mapper().valueToTree(labels));
        m.set("config", Json.mapper().valueToTree(config));
        if (info != null) {
            // wall time is not content: leave it out so identical trainings give identical bytes
            ObjectNode i = Json.mapper().valueToTree(info);
            i.remove("trainMillis");
            m.set("info", i);
        }
        return Json.toBytes(m);
    }

    /** Reads an artifact (parsing shared with applications: {@link HeadArtifact#read}). */
    public static TrainedHead fromBytes(byte[] artifact) {
        HeadArtifact a = HeadArtifact.read(artifact);
        try {
            JsonNode m = a.meta();
            HeadConfig config = Json.mapper().treeToValue(m.get("config"), HeadConfig.class);
            TrainingInfo info = null;
            if (m.hasNonNull("info")) {
                ObjectNode i = (ObjectNode) m.get("info");
                i.put("trainMillis", -1L);
                info = Json.mapper().treeToValue(i, TrainingInfo.class);
            }
            Standardizer standardizer = a.mean() == null ? null : new Standardizer(a.mean(), a.scale());
            TrainedHead head = new TrainedHead(a.network(), a.labels(), config, standardizer, a.task(), a.baseId(),
                    a.inputDim(), info);
            head.bytes = artifact.clone();
            return head;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read head artifact", e);
        }
    }

    private static byte[] normaliseZip(byte[] zip) throws IOException {
        return HeadArtifact.normaliseZip(zip);
    }

    private static byte[] zip(Map<String, byte[]> entries) throws IOException {
        return HeadArtifact.zip(entries);
    }

    @Override
    public String toString() {
        return "TrainedHead[task=" + task + ", base=" + baseId + ", dim=" + inputDim + ", labels=" + labels
                + ", " + config.architecture() + "]";
    }
}
