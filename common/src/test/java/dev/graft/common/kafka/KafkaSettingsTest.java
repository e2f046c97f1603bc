package dev.graft.common.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.graft.common.contract.Topics;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.junit.jupiter.api.Test;

class KafkaSettingsTest {

    @Test
    void requireReachableFailsFastWithTheAddressWhenNothingListens() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("localhost"))) {
            port = s.getLocalPort();
        }
        KafkaSettings settings = KafkaSettings.of("localhost:" + port);
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> settings.requireReachable(Duration.ofSeconds(5)))
                .isInstanceOf(KafkaSettings.KafkaUnreachableException.class)
                .hasMessage("no Kafka broker reachable at localhost:" + port + " within 5 s");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.println("requireReachable on a closed port failed after " + ms + " ms");
        assertThat(ms).isLessThan(10_000);
    }

    @Test
    void requireReachableReportsAnUnresolvableHost() {
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> KafkaSettings.of("no-such-host.invalid:9092").requireReachable(Duration.ofSeconds(2)))
                .isInstanceOf(KafkaSettings.KafkaUnreachableException.class)
                .hasMessageStartingWith("no Kafka broker reachable at no-such-host.invalid:9092 within 2 s");
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(10_000);
    }

    @Test
    void withDefaultLeavesAPassThroughPropertyAlone() {
        KafkaSettings user = KafkaSettings.of("h:1", java.util.Map.of("linger.ms", "7"));
        assertThat(user.withDefault("linger.ms", "100").producerConfig()).containsEntry("linger.ms", "7");
        assertThat(KafkaSettings.of("h:1").withDefault("linger.ms", "100").producerConfig()).containsEntry("linger.ms", "100");
    }

    @Test
    void consumerConfigIsReadCommittedManualCommitCooperative() {
        Map<String, Object> c = KafkaSettings.of("h:1").consumerConfig("g");
        assertThat(c).containsEntry("bootstrap.servers", "h:1")
                .containsEntry("group.id", "g")
                .containsEntry("isolation.level", "read_committed")
                .containsEntry("enable.auto.commit", "false")
                .containsEntry("partition.assignment.strategy", CooperativeStickyAssignor.class.getName())
                .containsEntry("key.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        assertThat(Integer.parseInt((String) c.get("max.partition.fetch.bytes"))).isGreaterThan(Topics.MAX_MESSAGE_BYTES);
    }

    @Test
    void producerConfigsAreIdempotentAndSizedForTheLargestRecord() {
        KafkaSettings s = KafkaSettings.of("h:1");
        Map<String, Object> p = s.producerConfig();
        assertThat(p).containsEntry("acks", "all").containsEntry("enable.idempotence", "true")
                .containsEntry("compression.type", "lz4").doesNotContainKey("transactional.id");
        assertThat(Integer.parseInt((String) p.get("max.request.size"))).isGreaterThanOrEqualTo(Topics.MAX_MESSAGE_BYTES);
        assertThat(Long.parseLong((String) p.get("buffer.memory"))).isGreaterThan(Topics.MAX_MESSAGE_BYTES);
        assertThat(s.transactionalProducerConfig("tx-1")).containsEntry("transactional.id", "tx-1");
        assertThatThrownBy(() -> s.transactionalProducerConfig(" ")).isInstanceOf(IllegalArgumentException.class);
    }


    @Test
    void imageProducersSendUncompressedUnlessTheUserSetsACompression() {
        KafkaSettings s = KafkaSettings.of("h:1");
        Map<String, Object> images = s.imageProducerConfig();
        Map<String, Object> general = new java.util.HashMap<>(s.producerConfig());
        general.put("compression.type", "none");
        assertThat(images).isEqualTo(general);
        assertThat(s.transactionalImageProducerConfig("tx-2")).containsEntry("transactional.id", "tx-2")
                .containsEntry("compression.type", "none").containsEntry("enable.idempotence", "true");
        assertThatThrownBy(() -> s.transactionalImageProducerConfig("")).isInstanceOf(IllegalArgumentException.class);
        assertThat(s.with("compression.type", "zstd").imageProducerConfig()).containsEntry("compression.type", "zstd");
    }
    @Test
    void adminConfigHasBoundedTimeouts() {
        Map<String, Object> a = KafkaSettings.of("h:1").adminConfig();
        assertThat(a).containsKeys("request.timeout.ms", "default.api.timeout.ms");
    }

    @Test
    void passThroughPropertiesComeFromKafkaPrefixAndGoOnlyToClientsThatKnowThem() {
        KafkaSettings s = KafkaSettings.fromFlat(Map.of(
                "kafka.bootstrap.servers", "b1:9092,b2:9092",
                "kafka.linger.ms", "20",
                "kafka.max.poll.records", "50",
                "kafka.security.protocol", "SSL",
                "kafka.isolation.level", "read_uncommitted",
                "other.key", "x"));
        assertThat(s.bootstrapServers()).isEqualTo("b1:9092,b2:9092");
        assertThat(s.clientProperties()).doesNotContainKeys("other.key", "bootstrap.servers", "kafka.linger.ms");
        assertThat(s.producerConfig()).containsEntry("linger.ms", "20").containsEntry("security.protocol", "SSL")
                .doesNotContainKey("max.poll.records");
        assertThat(s.consumerConfig("g")).containsEntry("max.poll.records", "50")
                .containsEntry("isolation.level", "read_uncommitted").doesNotContainKey("linger.ms");
        assertThat(s.adminConfig()).containsEntry("security.protocol", "SSL").doesNotContainKey("linger.ms");
        assertThat(KafkaSettings.fromFlat(Map.of()).bootstrapServers()).isEqualTo("localhost:9092");
    }

    @Test
    void serializersCannotBeOverridden() {
        KafkaSettings s = KafkaSettings.of("h:1").with("value.serializer", "x.Y").with("group.id", "other");
        assertThat(s.producerConfig().get("value.serializer"))
                .isEqualTo("org.apache.kafka.common.serialization.ByteArraySerializer");
        assertThat(s.consumerConfig("g")).containsEntry("group.id", "g");
    }
}
