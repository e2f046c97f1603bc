package dev.graft.headtrainer;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.base.BaseSpec;
import dev.graft.common.contract.BaseRef;
import dev.graft.common.image.Resizer;
import dev.graft.common.image.RgbImage;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Real features of Fashion-MNIST images from the nsfwjs MobileNetV2 (cached in ~/.graft/models), at several
 * cuts of one loaded network: what a feature worker started with {@code --cuts} computes, without Kafka.
 */
final class RealFeatures {
    static final String SPEC = "nsfwjs:mobilenet_v2";
    static final int BATCH = 32;

    /** Features of one cut: its base (as a feature worker names it) and one vector per image. */
    record Cut(BaseRef base, float[][] vectors) {}

    private RealFeatures() {}

    /** The 28x28 grey images {@code d.images()[idx[i]]} through each cut at {@code size} px. */
    static Map<String, Cut> extract(FashionMnist.Data d, int[] idx, int size, String... cuts) {
        BaseNetworks.Source src = BaseNetworks.loadSource(BaseSpec.parse(SPEC), BaseNetworks.defaultCacheDir(),
                BaseNetworks.defaultZooDir(), true);
        Map<String, Cut> out = new LinkedHashMap<>();
        for (String cut : cuts) {
            try (BaseNetwork net = BaseNetworks.load(src, cut, size)) {
                float[][] v = new float[idx.length][];
                int per = Resizer.floatsPerImage(size);
                for (int start = 0; start < idx.length; start += BATCH) {
                    int n = Math.min(BATCH, idx.length - start);
                    float[] buf = new float[n * per];
                    for (int i = 0; i < n; i++) {
                        Resizer.resizeInto(rgb(d.images()[idx[start + i]]), size, buf, i * per);
                    }
                    float[][] f = net.extract(Nd4j.create(buf, new long[] {n, size, size, 3}, 'c')).toFloatMatrix();
                    System.arraycopy(f, 0, v, start, n);
                }
                out.put(cut, new Cut(net.ref(), v));
            }
        }
        return out;
    }

    /** A grey image (floats in [0,1], 28x28) as RGB bytes. */
    static RgbImage rgb(float[] grey) {
        int side = (int) Math.round(Math.sqrt(grey.length));
        byte[] rgb = new byte[3 * grey.length];
        for (int i = 0; i < grey.length; i++) {
            byte b = (byte) Math.round(grey[i] * 255f);
            rgb[3 * i] = b;
            rgb[3 * i + 1] = b;
            rgb[3 * i + 2] = b;
        }
        return new RgbImage(side, side, rgb);
    }
}
