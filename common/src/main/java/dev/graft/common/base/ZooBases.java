package dev.graft.common.base;

import java.io.File;
import java.nio.file.Path;
import java.util.List;
import org.deeplearning4j.common.resources.DL4JResources;
import org.deeplearning4j.common.resources.ResourceType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.PretrainedType;
import org.deeplearning4j.zoo.ZooModel;
import org.deeplearning4j.zoo.model.Darknet19;
import org.deeplearning4j.zoo.model.ResNet50;
import org.deeplearning4j.zoo.model.SqueezeNet;
import org.deeplearning4j.zoo.model.VGG16;
import org.deeplearning4j.zoo.model.VGG19;
import org.deeplearning4j.zoo.model.Xception;

/**
 * DL4J zoo models with pretrained ImageNet weights. DL4J downloads the weights on first use into
 * {@code ~/.deeplearning4j/models/<model>/} (the base directory is {@link DL4JResources#getBaseDirectory()}).
 * Zoo graphs are NCHW.
 *
 * <p>The preprocessing of each model follows how DL4J's weights were produced; only {@code vgg16}/{@code vgg19}
 * ({@code VGG16ImagePreProcessor}) are documented by DL4J itself, the others are the Keras conventions of the
 * models they were converted from and are not verified here.
 */
public final class ZooBases {

    /** Zoo models with ImageNet weights, in the order they are listed in error messages. */
    public static final List<String> NAMES = List.of("vgg16", "vgg19", "resnet50", "squeezenet", "darknet19", "xception");

    private ZooBases() {}

    /** Native input size of a zoo model. */
    public static int nativeSize(String name) {
        return switch (name) {
            case "squeezenet" -> 227;
            case "xception" -> 299;
            default -> 224;
        };
    }

    public static Preprocessing preprocessing(String name) {
        return switch (name) {
            case "vgg16", "vgg19" -> Preprocessing.VGG_MEAN_RGB;
            case "resnet50", "squeezenet" -> Preprocessing.CAFFE;
            case "darknet19" -> Preprocessing.UNIT;
            case "xception" -> Preprocessing.TF;
            default -> throw unknown(name);
        };
    }

    static ZooModel<?> model(String name) {
        return switch (name) {
            case "vgg16" -> VGG16.builder().build();
            case "vgg19" -> VGG19.builder().build();
            case "resnet50" -> ResNet50.builder().build();
            case "squeezenet" -> SqueezeNet.builder().build();
            case "darknet19" -> Darknet19.builder().build();
            case "xception" -> Xception.builder().build();
            default -> throw unknown(name);
        };
    }

    /** The file DL4J looks for (and downloads to) under the given zoo base directory. */
    public static File cachedWeights(String name, File zooBaseDir) {
        ZooModel<?> m = model(name);
        String url = m.pretrainedUrl(PretrainedType.IMAGENET);
        if (url == null) throw new IllegalArgumentException("zoo:" + name + " has no ImageNet weights");
        String file = url.substring(url.lastIndexOf('/') + 1);
        return zooBaseDir.toPath().resolve(ResourceType.ZOO_MODEL.resourceName()).resolve(m.modelName())
                .resolve(file).toFile();
    }

    /** Adler-32 checksum DL4J publishes for the ImageNet weights (part of the base id). */
    public static long checksum(String name) {
        return model(name).pretrainedChecksum(PretrainedType.IMAGENET);
    }

    /** The architecture with random weights (no download): for listing layer names. */
    public static ComputationGraph untrained(String name) {
        return (ComputationGraph) model(name).init();
    }

    /**
     * Loads the pretrained graph.
     *
     * @param zooBaseDir DL4J's resource base directory, normally {@code ~/.deeplearning4j}
     * @param offline fail immediately (naming the cache file) instead of downloading when not cached
     */
    public static ComputationGraph loadPretrained(String name, Path zooBaseDir, boolean offline) {
        File base = zooBaseDir.toFile();
        File cached = cachedWeights(name, base);
        if (!cached.isFile() && offline) {
            throw new IllegalStateException("zoo:" + name + ": pretrained ImageNet weights are not cached at " + cached
                    + " and downloading is off (offline); copy the file there or allow downloads");
        }
        synchronized (ZooBases.class) {
            File previous = DL4JResources.getBaseDirectory();
            try {
                DL4JResources.setBaseDirectory(base);
                return (ComputationGraph) model(name).initPretrained(PretrainedType.IMAGENET);
            } catch (Exception | LinkageError e) {
                throw new IllegalStateException("zoo:" + name + ": cannot load pretrained ImageNet weights; looked in "
                        + cached + (cached.isFile() ? " (present but unreadable or corrupt)" : " (absent) and the "
                        + "download failed") + ": " + e, e);
            } finally {
                DL4JResources.setBaseDirectory(previous);
            }
        }
    }

    private static IllegalArgumentException unknown(String name) {
        return new IllegalArgumentException("unknown zoo model '" + name + "'; accepted: " + String.join(", ", NAMES));
    }
}
