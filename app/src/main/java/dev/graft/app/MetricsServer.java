package dev.graft.app;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * A process's Prometheus endpoint: {@code GET /metrics} (Prometheus text format) and {@code GET /health}
 * (200 {@code {"status":"UP"}} while the role runs, 503 {@code DOWN} once it stopped), served by the JDK's
 * HTTP server on all interfaces, so a container's health check and a Prometheus scraper can reach it.
 */
public final class MetricsServer implements AutoCloseable {
    private final PrometheusMeterRegistry registry;
    private final HttpServer http;
    private final JvmGcMetrics gc = new JvmGcMetrics();
    private volatile BooleanSupplier healthy = () -> true;

    private MetricsServer(PrometheusMeterRegistry registry, HttpServer http) {
        this.registry = registry;
        this.http = http;
    }

    /** Starts serving on {@code port} (0: any free port, see {@link #port()}), with JVM and process metrics bound. */
    public static MetricsServer start(int port, String role) throws IOException {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.config().commonTags("role", role);
        HttpServer http = HttpServer.create(new InetSocketAddress(port), 0);
        MetricsServer server = new MetricsServer(registry, http);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        server.gc.bindTo(registry);
        http.createContext("/metrics", server::metrics);
        http.createContext("/health", server::health);
        http.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "graft-metrics-http");
            t.setDaemon(true);
            return t;
        }));
        http.start();
        return server;
    }

    public MeterRegistry registry() {
        return registry;
    }

    public int port() {
        return http.getAddress().getPort();
    }

    /** What {@code /health} reports; UP by default. */
    public void health(BooleanSupplier check) {
        this.healthy = check;
    }

    /**
     * Runs a role's loop on this thread with {@code /health} UP while it runs and DOWN once it returned or threw
     * (the exception passes on). Without a server (no {@code --metrics-port}) it just runs the loop.
     */
    static void runHealthy(MetricsServer server, Runnable loop) {
        AtomicBoolean running = new AtomicBoolean(true);
        if (server != null) {
            server.health(running::get);
        }
        try {
            loop.run();
        } finally {
            running.set(false);
        }
    }

    private void metrics(HttpExchange ex) throws IOException {
        if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
            respond(ex, 405, "text/plain", "method not allowed\n");
            return;
        }
        respond(ex, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape());
    }

    private void health(HttpExchange ex) throws IOException {
        boolean up;
        try {
            up = healthy.getAsBoolean();
        } catch (RuntimeException e) {
            up = false;
        }
        respond(ex, up ? 200 : 503, "application/json", up ? "{\"status\":\"UP\"}\n" : "{\"status\":\"DOWN\"}\n");
    }

    private static void respond(HttpExchange ex, int code, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        boolean head = "HEAD".equals(ex.getRequestMethod());
        ex.sendResponseHeaders(code, head ? -1 : bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            if (!head) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        http.stop(0);
        gc.close();
        registry.close();
    }
}
