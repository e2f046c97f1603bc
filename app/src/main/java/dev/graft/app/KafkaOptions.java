package dev.graft.app;

import dev.graft.common.contract.Topics;
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

    public Topics topics() {
        return Topics.withPrefix(topicPrefix);
    }
}
