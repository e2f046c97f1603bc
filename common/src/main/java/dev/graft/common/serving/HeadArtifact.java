package dev.graft.common.serving;

import com.fasterxml.jackson.databind.JsonNode;
import dev.graft.common.json.Json;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A classifier head read from its artifact (format {@value #FORMAT}, written by the head trainer's
 * {@code TrainedHead}): everything an application needs to predict, nothing of training. Thread-safe
 * (prediction is synchronized: a DL4J network is not).
 *
 * <p>Artifact: a zip of {@value #MODEL_ENTRY} (DL4J {@code ModelSerializer}, no updater),
 * {@value #META_ENTRY} (format, task, baseId, inputDim, labels in output order, config, info) and,
 * if the head standardises its input, {@value #STANDARDIZER_ENTRY} (big-endian int dim, dim floats mean,
 * dim floats scale).
 */
public final class HeadArtifact {
    public static final String FORMAT = "graft-head-zip-v1";
    public static final String MODEL_ENTRY = "model.zip";
    public static final String META_ENTRY = "head.json";
    public static final String STANDARDIZER_ENTRY = "standardizer.bin";

    private final MultiLayerNetwork network;
    private final JsonNode meta;
    private final List<String> labels;
    private final int inputDim;
    private final float[] mean;
    private final float[] scale;

    private HeadArtifact(MultiLayerNetwork network, JsonNode meta, List<String> labels, int inputDim,
                         float[] mean, float[] scale) {
        this.network = network;
        this.meta = meta;
        this.labels = labels;
        this.inputDim = inputDim;
        this.mean = mean;
        this.scale = scale;
    }

    /** Parses an artifact; IllegalArgumentException if it is not one, UncheckedIOException if unreadable. */
    public static HeadArtifact read(byte[] artifact) {
        try {
            Map<String, byte[]> entries = unzip(artifact);
            byte[] metaBytes = entries.get(META_ENTRY);
            byte[] model = entries.get(MODEL_ENTRY);
            if (metaBytes == null || model == null) {
                throw new IllegalArgumentException("not a " + FORMAT + " artifact: entries " + entries.keySet());
            }
            JsonNode m = Json.mapper().readTree(metaBytes);
            if (!FORMAT.equals(m.path("format").asText())) {
                throw new IllegalArgumentException("unsupported head format '" + m.path("format").asText() + "'");
            }
            List<String> labels = List.of(Json.mapper().treeToValue(m.get("labels"), String[].class));
            float[] mean = null;
            float[] scale = null;
            byte[] s = entries.get(STANDARDIZER_ENTRY);
            if (s != null) {
                DataInputStream in = new DataInputStream(new ByteArrayInputStream(s));
                int dim = in.readInt();
                mean = new float[dim];
                scale = new float[dim];
                for (int i = 0; i < dim; i++) {
                    mean[i] = in.readFloat();
                }
                for (int i = 0; i < dim; i++) {
                    scale[i] = in.readFloat();
                }
            }
            MultiLayerNetwork net = ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(model), false);
            return new HeadArtifact(net, m, labels, m.path("inputDim").asInt(), mean, scale);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read head artifact", e);
        }
    }

    /** The network (expects standardised input if {@link #mean()} is not null). */
    public MultiLayerNetwork network() {
        return network;
    }

    /** head.json as written. */
    public JsonNode meta() {
        return meta.deepCopy();
    }

    public List<String> labels() {
        return labels;
    }

    public int inputDim() {
        return inputDim;
    }

    public String task() {
        return meta.path("task").asText(null);
    }

    public String baseId() {
        return meta.path("baseId").asText(null);
    }

    /** Standardisation mean per column, or null if the head takes raw features. */
    public float[] mean() {
        return mean == null ? null : mean.clone();
    }

    public float[] scale() {
        return scale == null ? null : scale.clone();
    }

    /** Class probabilities [n, k] for raw feature rows [n, inputDim]. */
    public synchronized INDArray predict(INDArray features) {
        if (features.rank() != 2 || features.columns() != inputDim) {
            throw new IllegalArgumentException("expected [n, " + inputDim + "] features, got "
                    + java.util.Arrays.toString(features.shape()));
        }
        INDArray x = features.castTo(DataType.FLOAT);
        if (mean != null) {
            x = x.subRowVector(Nd4j.create(mean, new long[] {1, mean.length}, DataType.FLOAT))
                    .diviRowVector(Nd4j.create(scale, new long[] {1, scale.length}, DataType.FLOAT));
        }
        return network.output(x, false);
    }

    /** Class probabilities (length k) for one raw feature vector. */
    public float[] predict(float[] vector) {
        return predict(Nd4j.create(vector, new long[] {1, vector.length}, DataType.FLOAT)).toFloatVector();
    }

    /** 2020-01-01T00:00:00Z: any fixed time inside the DOS date range of zip works. */
    private static final long ZIP_TIME = 1_577_836_800_000L;

    /** A zip of {@code entries} in order, each with a fixed time, so identical content gives identical bytes. */
    public static byte[] zip(Map<String, byte[]> entries) throws IOException {
        java.io.ByteArrayOutputStream bos = new java.io.ByteArrayOutputStream();
        try (java.util.zip.ZipOutputStream zos = new java.util.zip.ZipOutputStream(bos, StandardCharsets.UTF_8)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                ze.setTime(ZIP_TIME);
                zos.putNextEntry(ze);
                zos.write(e.getValue());
                zos.closeEntry();
            }
        }
        return bos.toByteArray();
    }

    /** Rewrites a zip with fixed entry times ({@link #zip}) so identical content gives identical bytes. */
    public static byte[] normaliseZip(byte[] zip) throws IOException {
        return zip(unzip(zip));
    }

    /** The entries of an artifact zip, by name, in order. */
    public static Map<String, byte[]> unzip(byte[] zip) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipInputStream zis = new ZipInputStream(new ByteArrayInputStream(zip), StandardCharsets.UTF_8)) {
            for (ZipEntry ze; (ze = zis.getNextEntry()) != null; ) {
                entries.put(ze.getName(), zis.readAllBytes());
            }
        }
        return entries;
    }

    @Override
    public String toString() {
        return "HeadArtifact[task=" + task() + ", base=" + baseId() + ", dim=" + inputDim + ", labels=" + labels + "]";
    }
}
