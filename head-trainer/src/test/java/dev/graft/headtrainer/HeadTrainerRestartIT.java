package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Split;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.kafka.TopicAdmin;
import dev.graft.common.model.ModelRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Head trainers of one task stopped and restarted on a real broker, on synthetic vectors published
 * straight to the features topic: a clean stop, a restart with nothing new, a restart with data that
 * arrived while no trainer ran, and a trainer that stalls inside a version's transaction (a zombie: it
 * sent the artifact and the event but never committed) while its successor starts and fences it.
 * Throughout: versions 1, 2, 3, 4 each exactly once, each warm-started from its predecessor.
 */
class HeadTrainerRestartIT {
    static final String TASK = "restart";
    static final int DIM = 32;
    static final int K = 3;

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void resumesAfterLatestVersionWithoutReusingNumbersOrDuplicatingEvents() throws Exception {
        Topics topics = Topics.defaults();
        HeadTrainerOptions options = HeadTrainerOptions.defaults(topics, TASK)
                .withHead(HeadConfig.defaults().withHiddenUnits(16).withEpochs(5))
                // only the count triggers a training, so "no new version" below is not a matter of timing
                .withPolicy(new TrainingPolicy.Settings(90, Duration.ofHours(1), 2, 10));
        Random r = new Random(7);
        try (KafkaTestCluster kafka = KafkaTestCluster.start()) {
            KafkaSettings settings = KafkaSettings.of(kafka.bootstrapServers());
            try (Admin admin = settings.admin()) {
                TopicAdmin.ensureTopics(admin, topics, 2);
            }
            ModelRegistry registry = new ModelRegistry(topics, () -> settings.consumer(null));
            try (FeatureFeed feed = new FeatureFeed(settings, topics, TASK, FeatureFeed.syntheticBase(DIM))) {
                // 1. Trainer A publishes v1 and v2, then is stopped cleanly.
                RunningTrainer a = RunningTrainer.start(options, settings, null);
                feed.publish(feed.blobs(r, 0, K, K, 10, Split.VALIDATION, "val"));
                feed.publish(feed.blobs(r, 0, K, K, 30, Split.TRAIN, "p1"));
                assertThat(a.next().version()).isEqualTo(1);
                feed.publish(feed.blobs(r, 0, K, K, 30, Split.TRAIN, "p2"));
                ModelUpdateEvent v2 = a.next();
                assertThat(v2.version()).isEqualTo(2);
                assertThat(v2.lineage().parentVersion()).isEqualTo(1);
                a.close();

                // 2. Trainer B restarts with nothing new: it rebuilds its cache and publishes nothing.
                RunningTrainer b = RunningTrainer.start(options, settings, null);
                await().atMost(Duration.ofSeconds(60)).until(() -> b.service().store() != null
                        && b.service().store().size() == feed.published());
                assertThat(b.published().poll(3, TimeUnit.SECONDS)).as("no version for data v2 was trained on").isNull();
                b.close();

                // 3. Data arrives while no trainer runs; trainer C counts it as new and publishes v3 from v2.
                feed.publish(feed.blobs(r, 0, K, K, 30, Split.TRAIN, "p3"));
                CountDownLatch stalled = new CountDownLatch(1);
                CountDownLatch release = new CountDownLatch(1);
                RunningTrainer c = RunningTrainer.start(options, settings, v -> {
                    if (v == 4) {
                        stalled.countDown();
                        awaitLatch(release);
                    }
                });
                ModelUpdateEvent v3 = c.next();
                assertThat(v3.version()).isEqualTo(3);
                assertThat(v3.lineage().parentVersion()).isEqualTo(2);
                assertThat(v3.metrics().trainCount()).isEqualTo(270);
                assertThat(TrainedHead.fromBytes(registry.fetch(v3.artifact())).info().warmStarted()).isTrue();

                // 4. C trains v4 and stalls before committing; D starts, fences C (its transaction is
                //    aborted: neither the artifact nor the event of C's v4 is ever visible) and publishes v4.
                feed.publish(feed.blobs(r, 0, K, K, 30, Split.TRAIN, "p4"));
                assertThat(stalled.await(90, TimeUnit.SECONDS)).as("C reached its commit").isTrue();
                RunningTrainer d = RunningTrainer.start(options, settings, null);
                ModelUpdateEvent v4 = d.next();
                release.countDown();
                c.thread().join(30_000);
                assertThat(c.failure().get()).as("the stalled trainer is fenced").isInstanceOf(ProducerFencedException.class);
                assertThat(v4.version()).isEqualTo(4);
                assertThat(v4.lineage().parentVersion()).isEqualTo(3);
                assertThat(v4.metrics().trainCount()).isEqualTo(360);
                assertThat(TrainedHead.fromBytes(registry.fetch(v4.artifact())).info().warmStarted()).isTrue();
                assertThat(d.published().poll(3, TimeUnit.SECONDS)).isNull();
                d.close();

                List<ModelUpdateEvent> events = registry.versions(TASK);
                assertThat(events).extracting(ModelUpdateEvent::version).containsExactly(1, 2, 3, 4);
                assertThat(events).extracting(e -> e.artifact().sha256()).doesNotHaveDuplicates();
                assertThat(registry.latest(TASK).orElseThrow().artifact()).isEqualTo(v4.artifact());
                // the zombie's alias events went down with its transaction
                assertThat(registry.events(TASK).stream().filter(ModelUpdateEvent::setsAlias)
                        .filter(e -> ModelUpdateEvent.LATEST.equals(e.alias())).map(ModelUpdateEvent::version))
                        .containsExactly(1, 2, 3, 4);
                assertThat(registry.aliases(TASK).get(ModelUpdateEvent.LATEST)).hasValue(4);
            }
        }
    }

    private static void awaitLatch(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
