package dev.graft.common.base;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Pixel normalisation a base network was trained with. Input is always NHWC RGB in [0,255];
 * the channel axis is the last one.
 */
public enum Preprocessing {
    /** x / 255, range [0,1] (nsfwjs). */
    UNIT("unit"),
    /** x / 127.5 - 1, range [-1,1] (Keras "tf" mode: MobileNet, Inception, Xception). */
    TF("tf", "x / 127.5 - 1"),
    /** Keras "caffe" mode: RGB to BGR, then subtract the ImageNet BGR means (103.939, 116.779, 123.68). */
    CAFFE("caffe"),
    /** DL4J's VGG16ImagePreProcessor: subtract the ImageNet RGB means (123.68, 116.779, 103.939), RGB order kept. */
    VGG_MEAN_RGB("vgg_mean_rgb"),
    /** Values unchanged, [0,255]. */
    RAW("raw");

    private final String id;

    Preprocessing(String id, String... unused) {
        this.id = id;
    }

    /** The stable name used in base ids and {@link dev.graft.common.contract.BaseRef#preprocessing()}. */
    public String id() {
        return id;
    }

    public static Preprocessing of(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        for (Preprocessing p : values()) {
            if (p.id.equals(n)) return p;
        }
        throw new IllegalArgumentException("unknown preprocessing '" + name + "'; accepted: "
                + Arrays.stream(values()).map(Preprocessing::id).collect(Collectors.joining(", ")));
    }

    /**
     * {mul, add} when this preprocessing is {@code x * mul + add} on every value alike (no channel-dependent part),
     * else null.
     */
    public double[] elementwiseAffine() {
        return switch (this) {
            case UNIT -> new double[] {1 / 255.0, 0};
            case TF -> new double[] {1 / 127.5, -1};
            case RAW -> new double[] {1, 0};
            default -> null;
        };
    }

    /** Returns a new array (the input is not modified). {@code rgb255} is {@code [n,h,w,3]}. */
    public INDArray apply(INDArray rgb255) {
        INDArray x = rgb255.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).dup('c');
        switch (this) {
            case UNIT -> x.divi(255f);
            case TF -> x.divi(127.5f).subi(1f);
            case CAFFE -> {
                INDArray bgr = Nd4j.concat(3,
                        x.get(all(), all(), all(), point(2)),
                        x.get(all(), all(), all(), point(1)),
                        x.get(all(), all(), all(), point(0)));
                x = bgr.subiRowVector(Nd4j.createFromArray(103.939f, 116.779f, 123.68f));
            }
            case VGG_MEAN_RGB -> x.subiRowVector(Nd4j.createFromArray(123.68f, 116.779f, 103.939f));
            case RAW -> { }
        }
        return x;
    }

    private static org.nd4j.linalg.indexing.INDArrayIndex all() {
        return org.nd4j.linalg.indexing.NDArrayIndex.all();
    }

    private static org.nd4j.linalg.indexing.INDArrayIndex point(int i) {
        return org.nd4j.linalg.indexing.NDArrayIndex.interval(i, i + 1);
    }

    @Override
    public String toString() {
        return id;
    }
}
