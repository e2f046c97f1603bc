package dev.graft.headtrainer;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseResolver;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.image.ImageDecoder;
import dev.graft.common.image.Resizer;
import dev.graft.common.model.ModelRegistry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A published classifier version, loaded whole: the base it was trained on (loaded from its spec and
 * checked against the version's base id) and the head (fetched from Kafka, sha256 verified).
 * Thread-safe by serialising {@link #classify} (the base network is not thread-safe).
 */
public final class Classifier implements AutoCloseable {
    private final ModelUpdateEvent version;
    private final BaseNetwork base;
    private final TrainedHead head;
    private final ImageDecoder decoder = new ImageDecoder();

    public record Scored(String label, double probability) {}

    /** The answer for one image, naming the version that produced it. */
    public record Prediction(String task, int version, List<Scored> ranked) {
        public Scored top() {
            return ranked.get(0);
        }
    }

    public Classifier(ModelUpdateEvent version, BaseNetwork base, TrainedHead head) {
        if (!base.ref().id().equals(version.base().id())) {
            throw new IllegalStateException("base mismatch: version " + version.version() + " of " + version.task()
                    + " was trained on base " + version.base().id() + " but " + version.base().spec() + " loaded as "
                    + base.ref().id() + " (different weights, cut, size or preprocessing)");
        }
        this.version = version;
        this.base = base;
        this.head = head;
    }

    /**
     * Loads a version: fetches and verifies the head artifact, loads the base from the version's spec (a fine-tuned
     * base, {@code graft-base:TASK/bN}, through the registry, cached under {@code $GRAFT_HOME/bases}).
     */
    public static Classifier load(ModelRegistry registry, ModelUpdateEvent version, Path modelCache) {
        return fromArtifact(version, registry.fetch(version.artifact()),
                new BaseResolver(registry, BaseResolver.defaultBasesDir(), modelCache));
    }

    /**
     * Builds a version from its (already verified) artifact bytes, loading the base from the version's spec;
     * usable as a {@link dev.graft.common.serving.ServingClient.Loader}.
     */
    public static Classifier fromArtifact(ModelUpdateEvent version, byte[] artifact, Path modelCache) {
        return fromArtifact(version, artifact, new BaseResolver(null, BaseResolver.defaultBasesDir(), modelCache));
    }

    /** As {@link #fromArtifact(ModelUpdateEvent, byte[], Path)}, resolving fine-tuned bases with {@code bases}. */
    public static Classifier fromArtifact(ModelUpdateEvent version, byte[] artifact, BaseResolver bases) {
        TrainedHead head = TrainedHead.fromBytes(artifact);
        BaseNetwork base = bases.load(version.base().spec(), version.base().cut(), version.base().inputSize());
        try {
            return new Classifier(version, base, head);
        } catch (RuntimeException e) {
            base.close();
            throw e;
        }
    }

    public ModelUpdateEvent version() {
        return version;
    }

    public TrainedHead head() {
        return head;
    }

    /** Classifies encoded images (PNG, JPEG, ...); a bad image throws ImageRejectedException. */
    public synchronized List<Prediction> classify(List<byte[]> images) {
        int size = base.ref().inputSize();
        int per = Resizer.floatsPerImage(size);
        float[] buf = new float[images.size() * per];
        for (int i = 0; i < images.size(); i++) {
            Resizer.resizeInto(decoder.decode(images.get(i)), size, buf, i * per);
        }
        INDArray features = base.extract(Nd4j.create(buf, new long[] {images.size(), size, size, 3}, 'c'));
        return predictFeatures(features);
    }

    /** Classifies feature vectors of this version's base. */
    public List<Prediction> predictFeatures(INDArray features) {
        float[][] probs = head.predict(features).toFloatMatrix();
        List<Prediction> out = new ArrayList<>(probs.length);
        for (float[] p : probs) {
            List<Scored> ranked = new ArrayList<>(p.length);
            for (int k = 0; k < p.length; k++) {
                ranked.add(new Scored(head.labels().get(k), p[k]));
            }
            ranked.sort(Comparator.comparingDouble(Scored::probability).reversed());
            out.add(new Prediction(version.task(), version.version(), ranked));
        }
        return out;
    }

    @Override
    public void close() {
        base.close();
    }
}
