package dev.graft.app;

import java.io.IOException;
import picocli.CommandLine.Option;

/** {@code --metrics-port}: serve /metrics and /health for this process. */
public final class MetricsOptions {
    @Option(names = "--metrics-port", paramLabel = "PORT", defaultValue = "-1",
            description = "Serve Prometheus metrics on http://HOST:PORT/metrics and a health check on /health (default: off).")
    int metricsPort = -1;

    /** The started server, or null when --metrics-port was not given. */
    MetricsServer start(String role) throws IOException {
        if (metricsPort < 0) {
            return null;
        }
        MetricsServer server = MetricsServer.start(metricsPort, role);
        System.err.printf("graft %s: metrics on http://0.0.0.0:%d/metrics, health on /health%n", role, server.port());
        return server;
    }
}
