package dev.graft.app;

import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.TopicAdmin;
import java.time.Duration;
import org.apache.kafka.clients.admin.Admin;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** Options every role shares: where Kafka is, topic prefix, and client settings passed straight through. */
public final class KafkaOptions {

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT[,...]",
            defaultValue = "${env:GRAFT_BOOTSTRAP_SERVERS:-localhost:9092}",
            description = "Kafka bootstrap servers (env GRAFT_BOOTSTRAP_SERVERS; default: ${DEFAULT-VALUE}).")
    String bootstrapServers;

    @Option(names = "--topic-prefix", defaultValue = Topics.DEFAULT_PREFIX,
            description = "Prefix of every Graft topic (default: ${DEFAULT-VALUE}).")
    String topicPrefix;

    @Option(names = {"-k", "--kafka"}, paramLabel = "KEY=VALUE", mapFallbackValue = "",
            description = "Kafka client setting passed through to every client, e.g. -k security.protocol=SASL_SSL.")
    Map<String, String> kafka = new LinkedHashMap<>();

    @Option(names = "--partitions", defaultValue = "2",
            description = "Partitions of topics Graft creates when they are missing (default: ${DEFAULT-VALUE}).")
    int partitions;

    @picocli.CommandLine.Spec(picocli.CommandLine.Spec.Target.MIXEE)
    picocli.CommandLine.Model.CommandSpec mixee;

    /** Client settings: -k flags over GRAFT_KAFKA_* variables over the --config file's kafka.* keys. */
    public KafkaSettings settings() {
        Map<String, String> merged = new LinkedHashMap<>();
        if (mixee != null && mixee.defaultValueProvider() instanceof SettingsSource source) {
            merged.putAll(source.kafkaSettings(mixee));
        }
        merged.putAll(kafka);
        return KafkaSettings.of(bootstrapServers, merged);
    }

    /** Fails within seconds when no broker answers; creates missing Graft topics. */
    public KafkaSettings connect() {
        KafkaSettings s = settings();
        s.requireReachable(Duration.ofSeconds(5));
        try (Admin admin = s.admin()) {
            TopicAdmin.ensureTopics(admin, topics(), partitions);
        }
        return s;
    }

    public Topics topics() {
        return Topics.withPrefix(topicPrefix);
    }
}
