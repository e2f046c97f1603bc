package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.kafka.TopicAdmin;
import dev.graft.common.model.ModelRegistry;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.Producer;
import org.junit.jupiter.api.Test;

/** `graft models list|promote|rollback` on a real broker, with versions whose artifacts are placeholder bytes. */
class ModelsCommandIT {
    static final String TASK = "models-cli";

    @Test
    void promoteAndRollbackMoveServingAsEvents() {
        try (KafkaTestCluster kafka = KafkaTestCluster.start()) {
            String bootstrap = kafka.bootstrapServers();
            KafkaSettings settings = KafkaSettings.of(bootstrap);
            Topics topics = Topics.defaults();
            try (Admin admin = settings.admin()) {
                TopicAdmin.ensureTopics(admin, topics, 1);
            }
            ModelRegistry registry = new ModelRegistry(topics, () -> settings.consumer(null));
            try (Producer<byte[], byte[]> p = settings.transactionalProducer("models-cli-test")) {
                for (int v = 1; v <= 3; v++) {
                    p.beginTransaction();
                    registry.publish(p, version(v, 0.7 + v / 100.0), ("artifact " + v).getBytes(), "test");
                    registry.setAlias(p, TASK, ModelUpdateEvent.LATEST, v, ModelUpdateEvent.REASON_PUBLISHED, Instant.now());
                    registry.setAlias(p, TASK, ModelUpdateEvent.SERVING, v, ModelUpdateEvent.REASON_PROMOTED, Instant.now());
                    p.commitTransaction();
                }
            }
            PipelineEndToEndIT.CliRun list = cli(bootstrap, "list");
            assertThat(list.code()).as(list.err()).isZero();
            assertThat(list.out()).contains("aliases").containsPattern("(?m)^3 .*latest,serving");

            ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(ModelsCommand.class);
            ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> events = new ch.qos.logback.core.read.ListAppender<>();
            events.start();
            logger.addAppender(events);
            logger.setLevel(ch.qos.logback.classic.Level.INFO);
            assertThat(cli(bootstrap, "rollback").out()).contains("serving: v2 (rollback, was v3)");
            assertThat(registry.aliases(TASK).serving()).hasValue(2);
            assertThat(cli(bootstrap, "rollback").out()).contains("serving: v1");
            assertThat(cli(bootstrap, "rollback").code()).as("nothing before v1").isNotZero();
            assertThat(cli(bootstrap, "promote", "3").out()).contains("serving: v3 (manual, was v1)");
            assertThat(events.list).extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                    .as("operator events carry stable message ids").containsExactly(
                            "[GRAFT-ROLLBACK] task models-cli version 2 now serving (rolled back from v3)",
                            "[GRAFT-ROLLBACK] task models-cli version 1 now serving (rolled back from v2)",
                            "[GRAFT-PROMOTED] task models-cli version 3 now serving (manual; was v1)");
            logger.detachAppender(events);
            assertThat(cli(bootstrap, "promote", "9").code()).isNotZero();
            assertThat(cli(bootstrap, "promote").code()).isNotZero();

            List<ModelUpdateEvent> serving = registry.events(TASK).stream()
                    .filter(e -> ModelUpdateEvent.SERVING.equals(e.alias())).toList();
            assertThat(serving).extracting(ModelUpdateEvent::version).containsExactly(1, 2, 3, 2, 1, 3);
            assertThat(serving).extracting(ModelUpdateEvent::reason).containsExactly("promoted", "promoted", "promoted",
                    "rollback", "rollback", "manual");
            assertThat(registry.aliases(TASK).get(ModelUpdateEvent.LATEST)).hasValue(3);
            assertThat(cli(bootstrap, "list").out()).containsPattern("(?m)^3 .*latest,serving").containsPattern("(?m)^1 +\\S+ .* - ");

            // graft_serving_version of a process that loads no model (head trainer, demo) follows the alias
            io.micrometer.core.instrument.simple.SimpleMeterRegistry meters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
            try (var watcher = GraftMetrics.watchServingVersion(meters, registry, TASK)) {
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
                        .until(() -> meters.get("graft.serving.version").tag("task", TASK).gauge().value() == 3.0);
                cli(bootstrap, "rollback");
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
                        .until(() -> meters.get("graft.serving.version").tag("task", TASK).gauge().value() == 1.0);
            }
        }
    }

    private static PipelineEndToEndIT.CliRun cli(String bootstrap, String... action) {
        String[] args = new String[4 + action.length + 1];
        args[0] = "models";
        args[1] = "--bootstrap-servers";
        args[2] = bootstrap;
        args[3] = "--task=" + TASK;
        System.arraycopy(action, 0, args, 4, action.length);
        return PipelineEndToEndIT.cli(java.util.Arrays.copyOf(args, 4 + action.length));
    }

    static ModelUpdateEvent version(int v, double accuracy) {
        return new ModelUpdateEvent(ModelUpdateEvent.VERSION_PUBLISHED, TASK, v, Instant.now(),
                new BaseRef("base-x", "test", "none", 0, 4, "none"), List.of("a", "b"),
                new ModelUpdateEvent.Metrics(accuracy, 0.5, 10, 100, Map.of(), new int[][] {{5, 0}, {0, 5}}),
                new ModelUpdateEvent.Lineage(Map.of(), Map.of(), "test", v == 1 ? null : v - 1), null);
    }
}
