package dev.graft.common.base;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Throughput of extract: {@code mvn -pl common test -Dtest=BaseNetworkBench -Dgraft.bench=true}. */
@EnabledIfSystemProperty(named = "graft.bench", matches = "true")
class BaseNetworkBench {

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean)
                java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    @Test
    void throughput() {
        Path cache = Path.of(System.getProperty("graft.test.models", "target/test-models"));
        long t0 = System.nanoTime();
        BaseNetworks.Source src = BaseNetworks.loadSource(BaseSpec.parse("nsfwjs:mobilenet_v2"), cache,
                BaseNetworks.defaultZooDir(), true);
        System.out.printf("import: %.2f s%n", (System.nanoTime() - t0) / 1e9);
        int images = Integer.getInteger("graft.bench.images", 96);
        String[][] cases = {{"block_12_add", "96"}, {"out_relu", "96"}, {"out_relu", "224"}};
        for (String[] c : cases) {
            int size = Integer.parseInt(c[1]);
            long t1 = System.nanoTime();
            BaseNetwork net = BaseNetworks.load(src, c[0], size);
            double cutS = (System.nanoTime() - t1) / 1e9;
            INDArray batch = GoldenInputs.images(size, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            for (int i = 0; i < 2; i++) net.extract(batch); // warm-up
            int n = size > 100 ? images / 2 : images;
            long cpu0 = cpuNanos();
            long t2 = System.nanoTime();
            for (int done = 0; done < n; done += 16) net.extract(batch);
            double s = (System.nanoTime() - t2) / 1e9;
            double cpuMs = (cpuNanos() - cpu0) / 1e6 / n;
            System.out.printf("%s @%d batch 16: cut+dim %.2f s, %d images in %.2f s = %.1f img/s, %.0f CPU-ms/img%n",
                    c[0], size, cutS, n, s, n / s, cpuMs);
        }
    }

    @Test
    void inceptionV3Loads() {
        Path cache = Path.of(System.getProperty("graft.test.models", "target/test-models"));
        long t0 = System.nanoTime();
        BaseNetwork net = BaseNetworks.load("nsfwjs:inception_v3", null, 0, cache);
        System.out.printf("inception_v3: %s loaded in %.2f s%n", net.ref(), (System.nanoTime() - t0) / 1e9);
        INDArray f = net.extract(GoldenInputs.images(299, 0, 1));
        System.out.printf("inception_v3 features %s%n", java.util.Arrays.toString(f.shape()));
    }

    /** Folded executor (NHWC and NCHW) against the DL4J graph, same run: {@code -Dgraft.bench.sizes=96,224}. */
    @Test
    void foldedVsDl4j() throws Exception {
        Path cache = Path.of(System.getProperty("graft.test.models", "target/test-models"));
        BaseNetworks.Source src = BaseNetworks.loadSource(BaseSpec.parse("nsfwjs:mobilenet_v2"), cache,
                BaseNetworks.defaultZooDir(), true);
        int batch = Integer.getInteger("graft.bench.batch", 16);
        int reps = Integer.getInteger("graft.bench.reps", 3);
        for (String sz : System.getProperty("graft.bench.sizes", "96,224").split(",")) {
            int size = Integer.parseInt(sz);
            CutGraphNetwork dl4j = (CutGraphNetwork) BaseNetworks.load(src, "out_relu", size, "dl4j");
            dev.graft.common.base.internal.FoldedExecutor nhwc =
                    dev.graft.common.base.internal.FoldedExecutor.compile(dl4j.graph(), java.util.List.of("out_relu"), true);
            dev.graft.common.base.internal.FoldedExecutor nchw =
                    dev.graft.common.base.internal.FoldedExecutor.compile(dl4j.graph(), java.util.List.of("out_relu"), false);
            System.out.println(nhwc);
            INDArray px = org.nd4j.linalg.factory.Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, batch, size, size, 3);
            System.out.println("profile NCHW " + size + ": " + nchw.profile(px, 3));
            System.out.println("profile NHWC " + size + ": " + nhwc.profile(px, 3));
            INDArray x = org.nd4j.linalg.factory.Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, batch, size, size, 3);
            int n = (size > 100 ? 64 : 160) / batch * batch;
            for (int r = 0; r < reps; r++) {
                for (String which : new String[] {"dl4j", "nhwc", "nchw"}) {
                    java.util.function.Consumer<INDArray> f = switch (which) {
                        case "dl4j" -> dl4j::extract;
                        case "nhwc" -> b -> nhwc.pooled(b);
                        default -> b -> nchw.pooled(b);
                    };
                    f.accept(x);
                    f.accept(x);
                    long cpu0 = cpuNanos();
                    long t = System.nanoTime();
                    for (int done = 0; done < n; done += batch) f.accept(x);
                    double s = (System.nanoTime() - t) / 1e9;
                    System.out.printf("size %d batch %d %s: %.1f img/s, %.1f CPU-ms/img%n", size, batch, which, n / s,
                            (cpuNanos() - cpu0) / 1e6 / n);
                }
            }
        }
    }
}
