package dev.graft.app;

import java.util.Locale;
import org.nd4j.linalg.factory.Nd4j;

/** Checks that the ND4J backend on the class path matches the requested device. */
final class Devices {
    private Devices() {}

    /**
     * @param device {@code cpu} or {@code cuda}
     * @throws IllegalArgumentException for another value, or when the backend does not match (e.g. cuda asked,
     *         but the build has the CPU backend)
     */
    static void require(String device) {
        String d = device == null ? "cpu" : device.trim().toLowerCase(Locale.ROOT);
        if (!d.equals("cpu") && !d.equals("cuda")) {
            throw new IllegalArgumentException("--device must be cpu or cuda, got '" + device + "'");
        }
        String backend = Nd4j.getBackend().getClass().getName();
        boolean cudaBackend = backend.toLowerCase(Locale.ROOT).contains("jcublas")
                || backend.toLowerCase(Locale.ROOT).contains("cuda");
        if (d.equals("cuda") && !cudaBackend) {
            throw new IllegalArgumentException("--device cuda: the ND4J backend on the class path is " + backend
                    + " (CPU); build with 'mvn -Pcuda -DskipTests package' and install the CUDA 11.6 run time "
                    + "(README, section GPU (untested))");
        }
        if (d.equals("cpu") && cudaBackend) {
            throw new IllegalArgumentException("--device cpu: this build has the CUDA backend (" + backend
                    + "); rebuild without -Pcuda for CPU");
        }
    }
}
