package dev.graft.common.serving;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.kafka.TopicAdmin;
import dev.graft.common.model.ModelRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.Producer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The failure this covers: a version that failed to load once (a transient error: model cache, network) was never
 * tried again until the alias moved, so the old version served on indefinitely. Now it is retried with a
 * bounded back-off while the old version keeps serving, and serves once a load succeeds.
 */
class ServingClientRetryIT {
    static final String TASK = "retry";

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void aVersionThatFailedToLoadIsRetriedWhileTheOldOneServesWithoutTheAliasMoving() throws Exception {
        Topics topics = Topics.withPrefix("retry.");
        try (KafkaTestCluster kafka = KafkaTestCluster.start()) {
            KafkaSettings settings = kafka.settings();
            try (Admin admin = settings.admin()) {
                TopicAdmin.ensureTopics(admin, topics, 1);
            }
            ModelRegistry registry = new ModelRegistry(topics, () -> settings.consumer(null));
            try (Producer<byte[], byte[]> p = settings.transactionalProducer("retry-test")) {
                publish(p, registry, 1);
                AtomicInteger attemptsOfV2 = new AtomicInteger();
                ServingClient.Loader<Integer> flaky = (v, bytes) -> {
                    assertThat(new String(bytes, StandardCharsets.UTF_8)).isEqualTo("artifact of v" + v.version());
                    if (v.version() == 2 && attemptsOfV2.incrementAndGet() <= 3) {
                        throw new IOException("model cache unavailable (attempt " + attemptsOfV2.get() + ")");
                    }
                    return v.version();
                };
                BlockingQueue<Integer> switches = new LinkedBlockingQueue<>();
                List<Integer> servingDuringFailures = new CopyOnWriteArrayList<>();
                try (ServingClient<Integer> client = ServingClient.start(registry, TASK, ServingClient.Target.serving(), flaky,
                        new ServingClient.Backoff(Duration.ofMillis(200), Duration.ofMillis(800)))) {
                    client.onSwitch((before, after) -> switches.add(after.version()));
                    client.onLoadFailure((v, e) -> servingDuringFailures.add(client.call((cur, model) -> model)));
                    assertThat(client.awaitReady(Duration.ofSeconds(30))).isTrue();
                    assertThat(switches.poll(10, TimeUnit.SECONDS)).isEqualTo(1);

                    publish(p, registry, 2); // the one alias move; nothing else happens on the topic afterwards
                    assertThat(switches.poll(60, TimeUnit.SECONDS)).as("v2 serves after its load is retried").isEqualTo(2);
                    assertThat(attemptsOfV2.get()).as("3 failed attempts, then a successful one").isEqualTo(4);
                    assertThat(servingDuringFailures).as("v1 answered while v2 could not be loaded").containsExactly(1, 1, 1);
                    String answer = client.call((v, model) -> v.version() + "/" + model);
                    assertThat(answer).isEqualTo("2/2");
                    assertThat(registry.aliases(TASK).serving()).hasValue(2);
                }
            }
        }
    }

    @Test
    void backoffDoublesUpToItsBound() {
        ServingClient.Backoff b = new ServingClient.Backoff(Duration.ofMillis(100), Duration.ofMillis(500));
        assertThat(List.of(b.after(1), b.after(2), b.after(3), b.after(4), b.after(50)))
                .containsExactly(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(400),
                        Duration.ofMillis(500), Duration.ofMillis(500));
    }

    private static void publish(Producer<byte[], byte[]> p, ModelRegistry registry, int v) {
        ModelUpdateEvent draft = new ModelUpdateEvent(ModelUpdateEvent.VERSION_PUBLISHED, TASK, v, Instant.now(),
                new BaseRef("b", "synthetic", "none", 0, 1, "none"), List.of("a"),
                new ModelUpdateEvent.Metrics(0.9, 0.1, 1, 1, Map.of(), new int[0][]),
                new ModelUpdateEvent.Lineage(Map.of(), Map.of(), "test", null), null);
        p.beginTransaction();
        registry.publish(p, draft, ("artifact of v" + v).getBytes(StandardCharsets.UTF_8), "test");
        registry.setAlias(p, TASK, ModelUpdateEvent.SERVING, v, ModelUpdateEvent.REASON_PROMOTED, Instant.now());
        p.commitTransaction();
    }
}
