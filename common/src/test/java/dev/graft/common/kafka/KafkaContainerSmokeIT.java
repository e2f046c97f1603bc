package dev.graft.common.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.contract.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.junit.jupiter.Testcontainers;

/** Against a real {@code apache/kafka:4.4.0} container; skipped when no Docker daemon is available. */
@Testcontainers(disabledWithoutDocker = true)
class KafkaContainerSmokeIT {
    static KafkaTestCluster kafka;

    @BeforeAll
    static void up() {
        kafka = KafkaTestCluster.startContainer();
    }

    @AfterAll
    static void down() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void transactionalProduceIsReadCommitted() throws Exception {
        KafkaSettings s = kafka.settings();
        Topics topics = Topics.withPrefix("smoke.");
        try (Admin admin = s.admin()) {
            TopicAdmin.ensureTopics(admin, topics, 1);
        }
        try (KafkaProducer<byte[], byte[]> p = s.transactionalProducer("smoke-tx")) {
            p.beginTransaction();
            p.send(new ProducerRecord<>(topics.images(), bytes("k1"), bytes("v1")));
            p.commitTransaction();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topics.images(), bytes("k2"), bytes("v2")));
            p.flush();
            p.abortTransaction();
        }
        List<String> keys = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = s.consumer("smoke")) {
            c.subscribe(List.of(topics.images()));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (keys.isEmpty() && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    keys.add(new String(r.key(), StandardCharsets.UTF_8));
                }
            }
            // Give an aborted record the chance to (wrongly) show up.
            for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofSeconds(1))) {
                keys.add(new String(r.key(), StandardCharsets.UTF_8));
            }
        }
        assertThat(keys).containsExactly("k1");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
