package dev.graft.common.kafka;

import java.util.Locale;
import org.junit.jupiter.api.Assumptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * A Kafka broker for tests: a Testcontainers {@link KafkaContainer} ({@value #IMAGE}) when a Docker daemon
 * is available, otherwise an in-JVM {@link EmbeddedKafkaBroker}. Not a JUnit extension: call
 * {@link #start()} (typically in {@code @BeforeAll}) and {@link #close()} (in {@code @AfterAll}), or use
 * try-with-resources.
 *
 * <p>System property {@code graft.test.kafka} = {@code embedded} | {@code container} (alias {@code docker}) |
 * {@code auto} (default) forces a kind ({@code mvn verify -Dgraft.test.kafka=container}). Forcing
 * {@code container} without a Docker daemon <em>skips</em> the calling test (a JUnit assumption), it does not
 * fail it; so does {@link #startContainer()}. Every integration test gets its broker here, so with Docker the
 * whole suite runs against the same {@code apache/kafka} image production uses.
 *
 * <pre>{@code
 * static KafkaTestCluster kafka;
 * @BeforeAll static void up() { kafka = KafkaTestCluster.start(); }
 * @AfterAll static void down() { kafka.close(); }
 * ... KafkaSettings.of(kafka.bootstrapServers()) ...
 * }</pre>
 */
public final class KafkaTestCluster implements AutoCloseable {
    public static final String IMAGE = "apache/kafka:4.4.0";
    public static final String KIND_PROPERTY = "graft.test.kafka";
    private static final Logger LOG = LoggerFactory.getLogger(KafkaTestCluster.class);

    /** Which implementation backs a cluster. */
    public enum Kind { CONTAINER, EMBEDDED }

    private final Kind kind;
    private final KafkaContainer container;
    private final EmbeddedKafkaBroker embedded;

    private KafkaTestCluster(Kind kind, KafkaContainer container, EmbeddedKafkaBroker embedded) {
        this.kind = kind;
        this.container = container;
        this.embedded = embedded;
    }

    /** Starts a container when Docker is available (or forced), otherwise an embedded broker. */
    public static KafkaTestCluster start() {
        String wanted = System.getProperty(KIND_PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        boolean docker = switch (wanted) {
            case "embedded" -> false;
            case "docker", "container" -> true;
            case "auto" -> dockerAvailable();
            default -> throw new IllegalArgumentException(KIND_PROPERTY + " must be auto, embedded or container: " + wanted);
        };
        long t0 = System.nanoTime();
        KafkaTestCluster c = docker ? startContainer() : startEmbedded();
        LOG.info("Kafka test cluster ({}) at {} ready in {} ms", c.kind, c.bootstrapServers(),
                (System.nanoTime() - t0) / 1_000_000);
        return c;
    }

    /** Always an embedded broker (no Docker probe). */
    public static KafkaTestCluster startEmbedded() {
        return new KafkaTestCluster(Kind.EMBEDDED, null, EmbeddedKafkaBroker.builder().build().start());
    }

    /** Always a container; skips the calling test (JUnit assumption) when no Docker daemon is available. */
    @SuppressWarnings("resource")
    public static KafkaTestCluster startContainer() {
        Assumptions.assumeTrue(dockerAvailable(), "no Docker daemon: the Testcontainers apache/kafka variant is skipped ("
                + KIND_PROPERTY + "=" + System.getProperty(KIND_PROPERTY, "auto") + ")");
        KafkaContainer k = new KafkaContainer(DockerImageName.parse(IMAGE))
                .withEnv("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
                .withEnv("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
                .withEnv("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
                .withEnv("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
                .withEnv("KAFKA_MESSAGE_MAX_BYTES",
                        String.valueOf(dev.graft.common.contract.Topics.MAX_MESSAGE_BYTES + 64 * 1024));
        k.start();
        return new KafkaTestCluster(Kind.CONTAINER, k, null);
    }

    /** Whether Testcontainers finds a Docker daemon (cached by Testcontainers after the first probe). */
    public static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | LinkageError e) {
            LOG.info("no Docker daemon: {}", e.toString());
            return false;
        }
    }

    public Kind kind() {
        return kind;
    }

    public String bootstrapServers() {
        return container != null ? container.getBootstrapServers() : embedded.bootstrapServers();
    }

    public KafkaSettings settings() {
        return KafkaSettings.of(bootstrapServers());
    }

    @Override
    public void close() {
        if (container != null) {
            container.stop();
        }
        if (embedded != null) {
            embedded.close();
        }
    }
}
