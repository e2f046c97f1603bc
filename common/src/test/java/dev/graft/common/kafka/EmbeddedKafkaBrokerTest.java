package dev.graft.common.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.contract.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/** One broker for the class (about 3 s to start), restarted once by the last test. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EmbeddedKafkaBrokerTest {
    @TempDir
    static Path dir;

    static final Topics TOPICS = Topics.withPrefix("t.");
    static EmbeddedKafkaBroker broker;
    static KafkaSettings settings;

    @BeforeAll
    static void start() {
        broker = EmbeddedKafkaBroker.builder().dataDir(dir.resolve("kafka")).build().start();
        settings = KafkaSettings.of(broker.bootstrapServers());
        System.out.println("broker start to ready: " + broker.startDuration().toMillis() + " ms");
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    @Order(1)
    void answersAndCreatesTopicsIdempotently() throws Exception {
        assertThat(broker.bootstrapServers()).startsWith("localhost:");
        assertThat(settings.requireReachable(Duration.ofSeconds(5))).isNotBlank();
        try (Admin admin = settings.admin()) {
            assertThat(TopicAdmin.ensureTopics(admin, TOPICS, 3)).containsExactlyInAnyOrderElementsOf(TOPICS.all());
            assertThat(TopicAdmin.ensureTopics(admin, TOPICS, 3)).isEmpty();

            TopicDescription features = admin.describeTopics(List.of(TOPICS.features())).allTopicNames()
                    .get(10, TimeUnit.SECONDS).get(TOPICS.features());
            assertThat(features.partitions()).hasSize(3);
            ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, TOPICS.modelUpdates());
            Config cfg = admin.describeConfigs(List.of(res)).all().get(10, TimeUnit.SECONDS).get(res);
            assertThat(cfg.get("retention.ms").value()).isEqualTo("-1");
            assertThat(cfg.get("max.message.bytes").value()).isEqualTo(String.valueOf(Topics.MAX_MESSAGE_BYTES));
        }
    }

    @Test
    @Order(2)
    void committedTransactionIsVisibleAndAbortedOneIsNot() {
        String topic = TOPICS.images();
        try (KafkaProducer<byte[], byte[]> p = settings.transactionalProducer("test-tx")) {
            p.beginTransaction();
            send(p, topic, "a1", "committed");
            send(p, topic, "a2", "committed");
            p.commitTransaction();

            p.beginTransaction();
            send(p, topic, "b1", "aborted");
            send(p, topic, "b2", "aborted");
            p.flush();
            p.abortTransaction();

            p.beginTransaction();
            send(p, topic, "c1", "committed");
            p.commitTransaction();
        }
        assertThat(readAll(settings, topic, 3)).containsExactlyInAnyOrder("a1", "a2", "c1");
        // read_uncommitted does see the aborted records: the filtering above is the isolation level's doing.
        KafkaSettings uncommitted = settings.with(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
        assertThat(readAll(uncommitted, topic, 5)).containsExactlyInAnyOrder("a1", "a2", "b1", "b2", "c1");
    }

    @Test
    @Order(3)
    void carriesARecordOfSeveralMebibytes() throws Exception {
        byte[] big = new byte[5 * 1024 * 1024];
        Arrays.fill(big, (byte) 7);
        try (KafkaProducer<byte[], byte[]> p = settings.producer()) {
            RecordMetadata md = p.send(new ProducerRecord<>(TOPICS.features(), 0, "big".getBytes(StandardCharsets.UTF_8),
                    big)).get(30, TimeUnit.SECONDS);
            assertThat(md.offset()).isGreaterThanOrEqualTo(0);
        }
        try (KafkaConsumer<byte[], byte[]> c = settings.consumer(null)) {
            TopicPartition tp = new TopicPartition(TOPICS.features(), 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            byte[] got = null;
            while (got == null && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    got = r.value();
                }
            }
            assertThat(got).isEqualTo(big);
        }
    }

    @Test
    @Order(4)
    void restartOnTheSameDataDirKeepsTopicsAndRecords() {
        Path data = broker.dataDir();
        broker.close();
        assertThat(data.resolve("kraft/meta.properties")).exists();
        broker = EmbeddedKafkaBroker.builder().dataDir(data).build().start();
        settings = KafkaSettings.of(broker.bootstrapServers());
        System.out.println("broker restart to ready: " + broker.startDuration().toMillis() + " ms");
        try (Admin admin = settings.admin()) {
            assertThat(TopicAdmin.ensureTopics(admin, TOPICS, 3)).isEmpty();
        }
        assertThat(readAll(settings, TOPICS.images(), 3)).containsExactlyInAnyOrder("a1", "a2", "c1");
        // Transactions still work after the restart (transaction state log recovered).
        try (KafkaProducer<byte[], byte[]> p = settings.transactionalProducer("test-tx")) {
            p.beginTransaction();
            send(p, TOPICS.images(), "d1", "committed");
            p.commitTransaction();
        }
        assertThat(readAll(settings, TOPICS.images(), 4)).containsExactlyInAnyOrder("a1", "a2", "c1", "d1");
    }

    private static void send(KafkaProducer<byte[], byte[]> p, String topic, String key, String value) {
        p.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8)));
    }

    /** Reads the whole topic from the beginning until {@code expected} keys arrived, then 300 ms more. */
    private static List<String> readAll(KafkaSettings s, String topic, int expected) {
        List<String> keys = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = s.consumer(null)) {
            List<TopicPartition> parts = c.partitionsFor(topic).stream()
                    .map(pi -> new TopicPartition(topic, pi.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            long quietUntil = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, quietUntil)) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                    keys.add(new String(r.key(), StandardCharsets.UTF_8));
                }
                if (keys.size() >= expected && quietUntil == Long.MAX_VALUE) {
                    quietUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
                }
            }
        }
        return keys;
    }
}
