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
}
