package dev.graft.common.kafka;

import dev.graft.common.contract.Topics;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka broker (KRaft, combined broker + controller) running inside this JVM.
 *
 * <p>Used by {@code graft broker} and by tests when no Docker daemon is available. The data directory
 * is formatted in-process on first use and reused as-is when it already holds a formatted log
 * ({@code meta.properties}), so a broker restarted on the same directory keeps its topics, records,
 * committed offsets and transaction state. Internal topics use replication factor 1.
 *
 * <pre>{@code
 * try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(9092).dataDir(dir).build().start()) {
 *     String bootstrap = broker.bootstrapServers();
 * }
 * }</pre>
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);
    private static final String HOST = "localhost";
    private static final String CONTROLLER_LISTENER = "CONTROLLER";
    private static final int NODE_ID = 1;

    private final int requestedPort;
    private final Path requestedDataDir;
    private final Duration startTimeout;
    private final Map<String, String> overrides;

    private Path dataDir;
    private boolean deleteOnClose;
    private int port;
    private KafkaRaftServer server;
    private Duration startDuration;

    private EmbeddedKafkaBroker(Builder b) {
        this.requestedPort = b.port;
        this.requestedDataDir = b.dataDir;
        this.startTimeout = b.startTimeout;
        this.overrides = Map.copyOf(b.overrides);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Formats the data directory if needed, starts the broker and returns once
     * {@code Admin.describeCluster()} answers.
     *
     * @throws IllegalStateException if already started or the broker is not ready within the start timeout
     */
    public synchronized EmbeddedKafkaBroker start() {
        if (server != null) {
            throw new IllegalStateException("broker already started at " + bootstrapServers());
        }
        long t0 = System.nanoTime();
        try {
            if (requestedDataDir == null) {
                dataDir = Files.createTempDirectory("graft-kafka-");
                deleteOnClose = true;
            } else {
                dataDir = Files.createDirectories(requestedDataDir.toAbsolutePath());
                deleteOnClose = false;
            }
            port = requestedPort == 0 ? freePort() : requestedPort;
            int controllerPort = freePort();
            Path logDir = dataDir.resolve("kraft");
            Properties props = brokerProperties(logDir, port, controllerPort);
            KafkaConfig config = KafkaConfig.fromProps(props, false);
            formatIfNeeded(logDir, config);
            KafkaRaftServer s = new KafkaRaftServer(config, Time.SYSTEM);
            server = s;
            s.startup();
            awaitReady();
            startDuration = Duration.ofNanos(System.nanoTime() - t0);
            LOG.info("Embedded Kafka broker ready at {} (data {}) in {} ms", bootstrapServers(), dataDir,
                    startDuration.toMillis());
            return this;
        } catch (IOException e) {
            closeQuietly();
            throw new UncheckedIOException("cannot start embedded Kafka broker: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly();
            throw e;
        } catch (Exception e) {
            closeQuietly();
            throw new IllegalStateException("cannot start embedded Kafka broker: " + e.getMessage(), e);
        }
    }

    /** {@code localhost:PORT}; only valid after {@link #start()}. */
    public String bootstrapServers() {
        if (port == 0) {
            throw new IllegalStateException("broker not started");
        }
        return HOST + ":" + port;
    }

    public int port() {
        return port;
    }

    /** The data directory in use (a temporary one when none was given); null before {@link #start()}. */
    public Path dataDir() {
        return dataDir;
    }

    /** Wall time of the last {@link #start()}, from call to ready; null before. */
    public Duration startDuration() {
        return startDuration;
    }

    public synchronized boolean isRunning() {
        return server != null;
    }

    /** Shuts the broker down, waits for it, and deletes the data directory if it was a temporary one. */
    @Override
    public synchronized void close() {
        KafkaRaftServer s = server;
        server = null;
        if (s != null) {
            s.shutdown();
            s.awaitShutdown();
        }
        if (deleteOnClose && dataDir != null) {
            deleteRecursively(dataDir);
            dataDir = null;
        }
        port = 0;
    }

    private void closeQuietly() {
        try {
            close();
        } catch (RuntimeException e) {
            LOG.warn("error while cleaning up a broker that failed to start", e);
        }
    }

    private Properties brokerProperties(Path logDir, int brokerPort, int controllerPort) {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", String.valueOf(NODE_ID));
        p.put("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + controllerPort);
        p.put("listeners", "PLAINTEXT://" + HOST + ":" + brokerPort + "," + CONTROLLER_LISTENER + "://" + HOST + ":"
                + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://" + HOST + ":" + brokerPort);
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
        p.put("controller.listener.names", CONTROLLER_LISTENER);
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("log.dirs", logDir.toString());
        p.put("num.partitions", "1");
        p.put("default.replication.factor", "1");
        p.put("min.insync.replicas", "1");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "5");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "5");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        // The default 128 MiB dedupe buffer is allocated on the heap of the JVM that hosts us.
        p.put("log.cleaner.dedupe.buffer.size", "2097152");
        // Headroom over the largest record for batch overhead.
        p.put("message.max.bytes", String.valueOf(Topics.MAX_MESSAGE_BYTES + 64 * 1024));
        p.put("replica.fetch.max.bytes", String.valueOf(Topics.MAX_MESSAGE_BYTES + 64 * 1024));
        p.put("auto.create.topics.enable", "false");
        p.put("delete.topic.enable", "true");
        p.putAll(overrides);
        return p;
    }

    private static void formatIfNeeded(Path logDir, KafkaConfig config) throws Exception {
        if (Files.exists(logDir.resolve("meta.properties"))) {
            LOG.info("Reusing formatted Kafka log directory {}", logDir);
            return;
        }
        Files.createDirectories(logDir);
        long t0 = System.nanoTime();
        new Formatter()
                .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                .setNodeId(NODE_ID)
                .setClusterId(Uuid.randomUuid().toString())
                .setDirectories(List.of(logDir.toString()))
                .setMetadataLogDirectory(logDir.toString())
                .setControllerListenerName(CONTROLLER_LISTENER)
                .setReleaseVersion(MetadataVersion.latestProduction())
                .setSupportedFeatures(Feature.PRODUCTION_FEATURES)
                .run();
        LOG.info("Formatted Kafka log directory {} in {} ms", logDir, (System.nanoTime() - t0) / 1_000_000);
    }

    private void awaitReady() throws InterruptedException {
        long deadline = System.nanoTime() + startTimeout.toNanos();
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrapServers());
        p.put("request.timeout.ms", "2000");
        p.put("default.api.timeout.ms", "2000");
        p.put("reconnect.backoff.max.ms", "200");
        Exception last = null;
        try (Admin admin = Admin.create(p)) {
            while (System.nanoTime() < deadline) {
                try {
                    admin.describeCluster().nodes().get(2, TimeUnit.SECONDS);
                    return;
                } catch (InterruptedException e) {
                    throw e;
                } catch (Exception e) {
                    last = e;
                    Thread.sleep(50);
                }
            }
        }
        throw new IllegalStateException("embedded Kafka broker at " + bootstrapServers() + " not ready within "
                + startTimeout.toSeconds() + " s", last);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getByName(HOST))) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }

    private static void deleteRecursively(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    LOG.debug("cannot delete {}", p, e);
                }
            });
        } catch (IOException e) {
            LOG.warn("cannot delete {}", root, e);
        }
    }

    /** Options of an {@link EmbeddedKafkaBroker}. */
    public static final class Builder {
        private int port;
        private Path dataDir;
        private Duration startTimeout = Duration.ofSeconds(60);
        private final Map<String, String> overrides = new LinkedHashMap<>();

        private Builder() {}

        /** Client port on localhost; 0 (default) picks a free one. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be in [0,65535]: " + port);
            }
            this.port = port;
            return this;
        }

        /**
         * Data directory; null (default) uses a temporary directory deleted on close. An existing
         * formatted directory is reused, so data survives restarts.
         */
        public Builder dataDir(Path dataDir) {
            this.dataDir = dataDir;
            return this;
        }

        /** How long {@link EmbeddedKafkaBroker#start()} waits for the broker to answer (default 60 s). */
        public Builder startTimeout(Duration startTimeout) {
            this.startTimeout = Objects.requireNonNull(startTimeout, "startTimeout");
            return this;
        }

        /** Any broker property, applied last (e.g. {@code log.retention.hours}). */
        public Builder brokerProperty(String name, String value) {
            overrides.put(Objects.requireNonNull(name), Objects.requireNonNull(value));
            return this;
        }

        public EmbeddedKafkaBroker build() {
            return new EmbeddedKafkaBroker(this);
        }
    }
}
