package dev.graft.common.kafka;

import dev.graft.common.contract.Topics;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * How Graft talks to Kafka: bootstrap servers plus pass-through client properties, and factories
 * for the clients every module uses. Immutable; {@code with...} methods return a copy.
 *
 * <p>Precedence for every client: Graft's defaults, then the pass-through properties, then the
 * settings a factory must own (serializers, {@code group.id}, {@code transactional.id}).
 */
public final class KafkaSettings {
    public static final String DEFAULT_BOOTSTRAP_SERVERS = "localhost:9092";
    /** Prefix of pass-through client properties in a flat configuration, e.g. {@code kafka.linger.ms=20}. */
    public static final String PASS_THROUGH_PREFIX = "kafka.";

    /** Consumers fetch up to this much per partition; above {@link Topics#MAX_MESSAGE_BYTES} so a large batch is one fetch. */
    static final int MAX_PARTITION_FETCH_BYTES = 2 * Topics.MAX_MESSAGE_BYTES;
    /** Producer buffer; must exceed the largest record. */
    static final long PRODUCER_BUFFER_MEMORY = 8L * Topics.MAX_MESSAGE_BYTES;

    private final String bootstrapServers;
    private final Map<String, String> clientProperties;

    private KafkaSettings(String bootstrapServers, Map<String, String> clientProperties) {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("bootstrap servers must not be blank");
        }
        this.bootstrapServers = bootstrapServers.trim();
        this.clientProperties = Collections.unmodifiableMap(new LinkedHashMap<>(clientProperties));
    }

    public static KafkaSettings of(String bootstrapServers) {
        return new KafkaSettings(bootstrapServers, Map.of());
    }

    public static KafkaSettings of(String bootstrapServers, Map<String, String> clientProperties) {
        return new KafkaSettings(bootstrapServers, clientProperties);
    }

    /**
     * From a flat configuration: {@code kafka.bootstrap.servers} (default {@value #DEFAULT_BOOTSTRAP_SERVERS})
     * and every other {@code kafka.*} key passed to the clients with the prefix removed.
     */
    public static KafkaSettings fromFlat(Map<String, String> flat) {
        Map<String, String> pass = new LinkedHashMap<>();
        String bootstrap = DEFAULT_BOOTSTRAP_SERVERS;
        for (Map.Entry<String, String> e : flat.entrySet()) {
            if (!e.getKey().startsWith(PASS_THROUGH_PREFIX)) {
                continue;
            }
            String key = e.getKey().substring(PASS_THROUGH_PREFIX.length());
            if (key.equals("bootstrap.servers")) {
                bootstrap = e.getValue();
            } else {
                pass.put(key, e.getValue());
            }
        }
        return new KafkaSettings(bootstrap, pass);
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** Pass-through client properties (without prefix), unmodifiable. */
    public Map<String, String> clientProperties() {
        return clientProperties;
    }

    public KafkaSettings withBootstrapServers(String servers) {
        return new KafkaSettings(servers, clientProperties);
    }

    /** A copy with {@code name=value} unless a pass-through property already sets {@code name} (the user's wins). */
    public KafkaSettings withDefault(String name, String value) {
        return clientProperties.containsKey(name) ? this : with(name, value);
    }

    /** A copy with one more pass-through client property. */
    public KafkaSettings with(String name, String value) {
        Map<String, String> m = new LinkedHashMap<>(clientProperties);
        m.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
        return new KafkaSettings(bootstrapServers, m);
    }

    // ---- configurations -------------------------------------------------------------------------------------

    /**
     * Consumer: {@code read_committed}, auto-commit off, cooperative-sticky assignment, byte[] key and
     * value, {@code auto.offset.reset=earliest} (overridable), large per-partition fetch.
     */
    public Map<String, Object> consumerConfig(String groupId) {
        Map<String, Object> c = base();
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        c.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(MAX_PARTITION_FETCH_BYTES));
        c.putAll(only(ConsumerConfig.configNames(), clientProperties));
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        if (groupId != null) {
            c.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        }
        return c;
    }

    /** Idempotent producer: {@code acks=all}, lz4, request and buffer sized for {@link Topics#MAX_MESSAGE_BYTES}. */
    public Map<String, Object> producerConfig() {
        Map<String, Object> c = base();
        c.put(ProducerConfig.ACKS_CONFIG, "all");
        c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        c.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        c.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(Topics.MAX_MESSAGE_BYTES));
        c.put(ProducerConfig.BUFFER_MEMORY_CONFIG, String.valueOf(PRODUCER_BUFFER_MEMORY));
        c.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        c.putAll(only(ProducerConfig.configNames(), clientProperties));
        c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.remove(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
        return c;
    }

    /**
     * {@link #producerConfig()} for image records, uncompressed unless a pass-through property sets
     * {@code compression.type}. PNG and JPEG bytes are compressed already: lz4 over batches of them saved 0% (224 px
     * RGB PNGs), 8% (the demo's 28 px gray PNGs) and 21% (3.7 KB JPEGs), and cost CPU three times, in the producer,
     * in the broker (which decompresses a compressed batch to validate it) and in every feature worker, where it also
     * cost one more copy of every image (nineteenth session). The feature workers are the pipeline's bottleneck, so
     * images travel as they are; {@code kafka.compression.type=lz4} trades the CPU back for the bytes.
     */
    public Map<String, Object> imageProducerConfig() {
        return forImages().producerConfig();
    }

    /** {@link #imageProducerConfig()} plus a {@code transactional.id}. */
    public Map<String, Object> transactionalImageProducerConfig(String transactionalId) {
        return forImages().transactionalProducerConfig(transactionalId);
    }

    /** These settings with {@code compression.type=none} unless a pass-through property sets it. */
    private KafkaSettings forImages() {
        return withDefault(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
    }

    /** {@link #producerConfig()} plus a {@code transactional.id}. */
    public Map<String, Object> transactionalProducerConfig(String transactionalId) {
        if (transactionalId == null || transactionalId.isBlank()) {
            throw new IllegalArgumentException("transactional.id must not be blank");
        }
        Map<String, Object> c = producerConfig();
        c.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        return c;
    }

    /**
     * Admin with bounded timeouts ({@code request.timeout.ms} 10 s, {@code default.api.timeout.ms} 30 s unless
     * overridden), so no admin call can hang forever.
     */
    public Map<String, Object> adminConfig() {
        Map<String, Object> c = base();
        c.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        c.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        c.putAll(only(AdminClientConfig.configNames(), clientProperties));
        return c;
    }

    // ---- clients --------------------------------------------------------------------------------------------

    /** A consumer per {@link #consumerConfig(String)}; groupId may be null for manual assignment. */
    public KafkaConsumer<byte[], byte[]> consumer(String groupId) {
        return new KafkaConsumer<>(consumerConfig(groupId));
    }

    public KafkaProducer<byte[], byte[]> producer() {
        return new KafkaProducer<>(producerConfig());
    }

    /** A producer per {@link #imageProducerConfig()}: for the images topic. */
    public KafkaProducer<byte[], byte[]> imageProducer() {
        return forImages().producer();
    }

    /**
     * A transactional producer with {@code initTransactions()} already called (which fences older
     * producers with the same id). Close it if this throws.
     */
    public KafkaProducer<byte[], byte[]> transactionalProducer(String transactionalId) {
        KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(transactionalProducerConfig(transactionalId));
        try {
            p.initTransactions();
            return p;
        } catch (RuntimeException e) {
            p.close(Duration.ZERO);
            throw e;
        }
    }

    /** As {@link #transactionalProducer(String)}, per {@link #transactionalImageProducerConfig(String)}. */
    public KafkaProducer<byte[], byte[]> transactionalImageProducer(String transactionalId) {
        return forImages().transactionalProducer(transactionalId);
    }

    public Admin admin() {
        return Admin.create(adminConfig());
    }

    /**
     * Fails fast, with a message naming the address, when no broker answers a describe-cluster within
     * {@code timeout}; returns the cluster id otherwise.
     *
     * @throws KafkaUnreachableException no broker reachable (or the address does not resolve)
     */
    public String requireReachable(Duration timeout) {
        int ms = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        Map<String, Object> c = base();
        c.putAll(only(AdminClientConfig.configNames(), clientProperties));
        c.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(ms));
        c.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(ms));
        c.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MS_CONFIG, String.valueOf(Math.min(ms, 1000)));
        c.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS_CONFIG, String.valueOf(Math.min(ms, 2000)));
        c.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
        String what = "no Kafka broker reachable at " + bootstrapServers + " within " + describe(timeout);
        Admin admin;
        try {
            admin = Admin.create(c);
        } catch (KafkaException e) {
            throw new KafkaUnreachableException(what + ": " + e.getMessage(), e);
        }
        try {
            return admin.describeCluster(new DescribeClusterOptions().timeoutMs(ms)).clusterId()
                    .get(ms + 1000L, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaUnreachableException(what + " (interrupted)", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new KafkaUnreachableException(what, e.getCause() == null ? e : e.getCause());
        } finally {
            admin.close(Duration.ZERO);
        }
    }

    /** Thrown by {@link #requireReachable(Duration)}. */
    public static final class KafkaUnreachableException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        public KafkaUnreachableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** As {@link Properties}, for APIs that want them. */
    public static Properties toProperties(Map<String, Object> config) {
        Properties p = new Properties();
        p.putAll(config);
        return p;
    }

    @Override
    public String toString() {
        return "KafkaSettings[" + bootstrapServers + ", " + clientProperties.keySet() + "]";
    }

    private Map<String, Object> base() {
        Map<String, Object> c = new HashMap<>();
        c.put("bootstrap.servers", bootstrapServers);
        return c;
    }

    /**
     * The pass-through keys a client knows: one flat set of {@code kafka.*} keys serves consumers, producers
     * and admins, and each client would warn about the others' keys.
     */
    private static Map<String, String> only(Set<String> known, Map<String, String> props) {
        Map<String, String> m = new HashMap<>();
        for (Map.Entry<String, String> e : props.entrySet()) {
            if (known.contains(e.getKey())) {
                m.put(e.getKey(), e.getValue());
            }
        }
        return m;
    }

    private static String describe(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? (ms / 1000) + " s" : ms + " ms";
    }
}
