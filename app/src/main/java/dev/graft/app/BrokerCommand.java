package dev.graft.app;

import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.EmbeddedKafkaBroker;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.TopicAdmin;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "broker", mixinStandardHelpOptions = true,
        description = "Run a real single-node Kafka broker (KRaft) in this JVM, with Graft's topics, until stopped (Ctrl-C).")
final class BrokerCommand implements Callable<Integer> {

    @picocli.CommandLine.Mixin
    ConfigOption config;

    @Option(names = "--port", defaultValue = "9092", description = "Client port on localhost (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--data", paramLabel = "DIR", description = "Log and metadata directory; reused across restarts (default: $GRAFT_HOME/broker).")
    Path data;

    @Option(names = "--topic-prefix", defaultValue = Topics.DEFAULT_PREFIX, description = "Prefix of Graft's topics (default: ${DEFAULT-VALUE}).")
    String topicPrefix;

    @Option(names = "--partitions", defaultValue = "2", description = "Partitions of each Graft topic (default: ${DEFAULT-VALUE}).")
    int partitions;

    @Override
    public Integer call() throws InterruptedException {
        Path dir = data != null ? data : GraftHome.dir().resolve("broker");
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(port).dataDir(dir).build().start();
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            broker.close();
            stop.countDown();
        }, "graft-broker-shutdown"));
        try (Admin admin = KafkaSettings.of(broker.bootstrapServers()).admin()) {
            TopicAdmin.ensureTopics(admin, Topics.withPrefix(topicPrefix), partitions);
        }
        System.out.printf("graft broker: listening on %s (data %s), started in %.1f s; Ctrl-C stops it%n",
                broker.bootstrapServers(), dir, broker.startDuration().toMillis() / 1000.0);
        System.out.flush();
        stop.await();
        return 0;
    }
}
