package dev.graft.common.base;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.modelimport.keras.KerasLayer;
import org.deeplearning4j.nn.modelimport.keras.KerasModel;
import org.deeplearning4j.nn.modelimport.keras.exceptions.InvalidKerasConfigurationException;
import org.deeplearning4j.nn.modelimport.keras.exceptions.UnsupportedKerasConfigurationException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Imports a TF.js layers-format Keras functional model ({@code model.json} + binary weight shards) into a DL4J
 * {@link ComputationGraph}. Weights may be float32 or uint8/uint16-quantised ({@code v = q * scale + min}).
 * The result is NHWC (channels last), like the Keras model.
 */
public final class TfjsLayersImporter {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    /**
     * @param graph the imported graph with its trained weights
     * @param weightsSha256 SHA-256 over all weight shard bytes, in manifest order
     * @param nativeSize the model's input height (= width), or 0 when not fixed
     */
    public record Imported(ComputationGraph graph, byte[] weightsSha256, int nativeSize) {}

    private TfjsLayersImporter() {}

    public static Imported importModel(Path modelJson) {
        try {
            return doImport(modelJson);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read TF.js model " + modelJson + ": " + e.getMessage(), e);
        } catch (InvalidKerasConfigurationException | UnsupportedKerasConfigurationException e) {
            throw new IllegalArgumentException("cannot import TF.js model " + modelJson + " into DL4J: "
                    + e.getMessage(), e);
        }
    }

    private static Imported doImport(Path modelJson)
            throws IOException, InvalidKerasConfigurationException, UnsupportedKerasConfigurationException {
        JsonNode root = MAPPER.readTree(modelJson.toFile());
        JsonNode topology = root.path("modelTopology");
        // TF.js writes either a Keras "model.to_json()" wrapper with model_config, or the model config itself.
        JsonNode modelConfig = topology.has("model_config") ? topology.get("model_config") : topology;
        String className = modelConfig.path("class_name").asText();
        if (!className.equals("Model") && !className.equals("Functional")) {
            throw new IllegalArgumentException(modelJson + ": only Keras functional models can be imported (class_name "
                    + "Model/Functional), not '" + className + "'; a TF graph model (e.g. nsfwjs mobilenet_v2_mid) "
                    + "cannot be imported");
        }
        ObjectNode keras = MAPPER.createObjectNode();
        keras.put("class_name", "Model");
        keras.set("config", modelConfig.get("config"));
        keras.put("keras_version", "2.2.4");
        keras.put("backend", "tensorflow");
        // KerasReLU casts max_value to Double: an integer 6 throws ClassCastException.
        String json = MAPPER.writeValueAsString(keras).replaceAll("\"max_value\":(\\d+)([,}])", "\"max_value\":$1.0$2");
        int nativeSize = nativeSize(modelConfig.get("config"));

        KerasModel km = new KerasModel().modelBuilder().modelJson(json).enforceTrainingConfig(false).buildModel();

        MessageDigest sha = sha256();
        Map<String, Map<String, INDArray>> byLayer = new LinkedHashMap<>();
        Path dir = modelJson.toAbsolutePath().getParent();
        for (JsonNode group : root.path("weightsManifest")) {
            List<byte[]> shards = new ArrayList<>();
            int total = 0;
            for (JsonNode p : group.path("paths")) {
                byte[] b = Files.readAllBytes(dir.resolve(p.asText()));
                sha.update(b);
                shards.add(b);
                total += b.length;
            }
            ByteBuffer buf = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
            shards.forEach(buf::put);
            buf.flip();
            for (JsonNode w : group.path("weights")) {
                String fullName = w.path("name").asText();
                INDArray arr = read(buf, w, fullName);
                int slash = fullName.lastIndexOf('/');
                if (slash <= 0) throw new IllegalArgumentException(modelJson + ": weight name without layer: " + fullName);
                String layer = fullName.substring(0, slash);
                String param = fullName.substring(slash + 1).replaceFirst(":\\d+$", "");
                if (!km.getLayers().containsKey(layer) && km.getLayers().containsKey(layer.split("/")[0])) {
                    layer = layer.split("/")[0];
                }
                byLayer.computeIfAbsent(layer, k -> new HashMap<>()).put(param, arr);
            }
            if (buf.hasRemaining()) {
                throw new IllegalArgumentException(modelJson + ": " + buf.remaining() + " unused bytes in weight group "
                        + group.path("paths"));
            }
        }
        Map<String, KerasLayer> layers = km.getLayers();
        for (Map.Entry<String, Map<String, INDArray>> e : byLayer.entrySet()) {
            KerasLayer layer = layers.get(e.getKey());
            if (layer == null) {
                throw new IllegalArgumentException(modelJson + ": weights for unknown layer '" + e.getKey() + "'");
            }
            layer.setWeights(e.getValue());
        }
        ComputationGraph graph = km.getComputationGraph();
        return new Imported(graph, sha.digest(), nativeSize);
    }

    private static INDArray read(ByteBuffer buf, JsonNode w, String name) {
        JsonNode shapeNode = w.path("shape");
        long[] shape = new long[shapeNode.size()];
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong();
            n *= shape[i];
        }
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("weight " + name + " too large");
        float[] v = new float[(int) n];
        JsonNode q = w.get("quantization");
        String dtype = w.path("dtype").asText("float32");
        if (!dtype.equals("float32")) {
            throw new IllegalArgumentException("weight " + name + ": dtype " + dtype + " not supported (float32 only)");
        }
        if (q == null || q.isNull()) {
            for (int i = 0; i < v.length; i++) v[i] = buf.getFloat();
        } else {
            String qt = q.path("dtype").asText();
            double min = q.path("min").asDouble();
            double scale = q.path("scale").asDouble();
            switch (qt) {
                case "uint8" -> {
                    for (int i = 0; i < v.length; i++) v[i] = (float) ((buf.get() & 0xFF) * scale + min);
                }
                case "uint16" -> {
                    for (int i = 0; i < v.length; i++) v[i] = (float) ((buf.getShort() & 0xFFFF) * scale + min);
                }
                default -> throw new IllegalArgumentException("weight " + name + ": quantization " + qt
                        + " not supported (uint8, uint16)");
            }
        }
        return Nd4j.create(v, shape, 'c').castTo(DataType.FLOAT);
    }

    private static int nativeSize(JsonNode config) {
        for (JsonNode l : config.path("layers")) {
            if (l.path("class_name").asText().equals("InputLayer")) {
                JsonNode s = l.path("config").path("batch_input_shape");
                if (s.size() == 4 && s.get(1).isInt()) return s.get(1).asInt();
            }
        }
        return 0;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
