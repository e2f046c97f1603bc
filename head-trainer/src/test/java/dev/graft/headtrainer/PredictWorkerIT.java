package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Prediction;
import dev.graft.common.contract.Split;
import dev.graft.common.contract.Topics;
import dev.graft.common.json.Json;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.kafka.TopicAdmin;
import dev.graft.common.model.ModelRegistry;
import dev.graft.headtrainer.predict.PredictWorker;
import dev.graft.headtrainer.predict.PredictWorkerOptions;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code graft predict-worker} on a real broker with heads trained by the real head trainer on Fashion-MNIST
 * (pixels as the feature vectors, so no image network runs): every unlabelled image of the task gets exactly
 * one prediction naming the serving version; labelled rows and rows of another base get none; after a
 * promotion and after a rollback, new images are predicted by the version that serves then.
 */
class PredictWorkerIT {
    static final String TASK = "fashion-predict";
    static final BaseRef PIXELS = new BaseRef("fashion-pixels-784", "pixels", "none", 28, 784, "unit");
    static final BaseRef OTHER = new BaseRef("another-base-784", "pixels", "none", 28, 784, "unit");

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void everyUnlabelledImageGetsOnePredictionFromTheVersionServingThen() throws Exception {
        Assumptions.assumeTrue(FashionMnist.available(), "Fashion-MNIST not installed");
        FashionMnist.Data train = FashionMnist.train(2000);
        FashionMnist.Data test = FashionMnist.test(600);
        Topics topics = Topics.defaults();
        HeadTrainerOptions options = HeadTrainerOptions.defaults(topics, TASK)
                .withHead(HeadConfig.defaults().withHiddenUnits(0).withEpochs(10))
                .withPolicy(new TrainingPolicy.Settings(800, Duration.ofHours(1), 2, 10))
                .withPromotionMargin(1.0); // every new version serves: the test moves 'serving' by hand too
        try (KafkaTestCluster kafka = KafkaTestCluster.start()) {
            KafkaSettings settings = kafka.settings();
            try (Admin admin = settings.admin()) {
                TopicAdmin.ensureTopics(admin, topics, 2);
            }
            ModelRegistry registry = new ModelRegistry(topics, () -> settings.consumer(null));
            HeadTrainerService trainer = new HeadTrainerService(options, settings, Clock.systemUTC());
            BlockingQueue<ModelUpdateEvent> published = new LinkedBlockingQueue<>();
            trainer.onPublished(published::add);
            Thread trainerThread = new Thread(trainer, "predict-it-trainer");
            trainerThread.start();
            PredictWorker worker = new PredictWorker(PredictWorkerOptions.defaults(topics, TASK, "it-0"), settings,
                    Clock.systemUTC());
            Thread workerThread = new Thread(worker, "predict-it-worker");
            try (FeatureFeed feed = new FeatureFeed(settings, topics, TASK, PIXELS);
                 FeatureFeed other = new FeatureFeed(settings, topics, TASK, OTHER)) {
                feed.publish(labelled(train, 0, 200, Split.VALIDATION));
                feed.publish(labelled(train, 200, 1000, Split.TRAIN));
                ModelUpdateEvent v1 = published.poll(120, TimeUnit.SECONDS);
                assertThat(v1).as("v1 trained").isNotNull();
                workerThread.start();

                // batch A: served by v1; plus labelled rows and rows of another base, which get no prediction
                feed.publish(unlabelled(test, 0, 300, "a"));
                other.publish(unlabelled(test, 0, 20, "other"));
                Map<String, Prediction> seen = new HashMap<>();
                List<String> duplicates = new ArrayList<>();
                try (Consumer<byte[], byte[]> reader = predictionsReader(settings, topics)) {
                    readUntil(reader, seen, duplicates, 300);
                    assertThat(worker.otherBaseSkipped()).isEqualTo(20);
                    assertThat(worker.labelledSkipped()).as("the labelled train and validation rows").isEqualTo(1000);
                    assertThat(versionsOf(seen, "a")).containsOnlyKeys(1);

                    // v2 is trained and promoted; once the worker serves it, batch B is predicted by v2
                    feed.publish(labelled(train, 1000, 1900, Split.TRAIN));
                    ModelUpdateEvent v2 = published.poll(120, TimeUnit.SECONDS);
                    assertThat(v2).as("v2 trained").isNotNull();
                    // committed with v2 in one transaction, but a read_committed reader sees it once the broker has
                    // written the commit markers, which it does after commitTransaction() returns
                    await().atMost(Duration.ofSeconds(30)).until(() -> registry.aliases(TASK).serving().orElse(0) == 2);
                    await().atMost(Duration.ofSeconds(60)).until(() -> worker.servingVersion().orElse(0) == 2);
                    feed.publish(unlabelled(test, 300, 450, "b"));
                    readUntil(reader, seen, duplicates, 450);
                    assertThat(versionsOf(seen, "b")).containsOnlyKeys(2);

                    // rollback to v1: batch C is predicted by v1 again
                    try (Producer<byte[], byte[]> p = settings.producer()) {
                        registry.setAlias(p, TASK, ModelUpdateEvent.SERVING, 1, ModelUpdateEvent.REASON_ROLLBACK, Instant.now());
                    }
                    await().atMost(Duration.ofSeconds(60)).until(() -> worker.servingVersion().orElse(0) == 1);
                    feed.publish(unlabelled(test, 450, 600, "c"));
                    readUntil(reader, seen, duplicates, 600);
                    assertThat(versionsOf(seen, "c")).containsOnlyKeys(1);

                    // nothing more arrives: no duplicates, no predictions of labelled or other-base rows
                    drain(reader, seen, duplicates);
                }
                assertThat(duplicates).as("images predicted more than once").isEmpty();
                assertThat(seen).hasSize(600);
                assertThat(seen.keySet()).allMatch(id -> id.startsWith("a-") || id.startsWith("b-") || id.startsWith("c-"));
                long right = 0;
                for (Prediction p : seen.values()) {
                    assertThat(p.task()).isEqualTo(TASK);
                    assertThat(p.baseId()).isEqualTo(PIXELS.id());
                    assertThat(p.probabilities()).hasSize(10);
                    int index = Integer.parseInt(p.imageId().substring(2));
                    right += p.label().equals(FashionMnist.CLASSES.get(test.labels()[index])) ? 1 : 0;
                }
                double accuracy = right / 600.0;
                System.out.printf("PREDICT 600 unlabelled images, one prediction each; accuracy %.3f; v1 val %.3f, v2 val %.3f%n",
                        accuracy, v1.metrics().validationAccuracy(), v2Accuracy(registry));
                assertThat(accuracy).as("predictions are the heads' (softmax regression on pixels)").isGreaterThan(0.6);
            } finally {
                worker.close();
                trainer.close();
                workerThread.join(30_000);
                trainerThread.join(30_000);
            }
        }
    }

    private static double v2Accuracy(ModelRegistry registry) {
        return registry.state(TASK).version(2).map(e -> e.metrics().validationAccuracy()).orElse(Double.NaN);
    }

    private static List<FeatureRow> labelled(FashionMnist.Data d, int from, int to, Split split) {
        List<FeatureRow> rows = new ArrayList<>();
        for (int i = from; i < to; i++) {
            rows.add(new FeatureRow("train-" + i, TASK, FashionMnist.CLASSES.get(d.labels()[i]), split, PIXELS.id(),
                    d.images()[i], "it"));
        }
        return rows;
    }

    /** Test images without a label, ids PREFIX-INDEX (index into the test file). */
    private static List<FeatureRow> unlabelled(FashionMnist.Data d, int from, int to, String prefix) {
        BaseRef base = prefix.equals("other") ? OTHER : PIXELS;
        List<FeatureRow> rows = new ArrayList<>();
        for (int i = from; i < to; i++) {
            rows.add(new FeatureRow(prefix + "-" + i, TASK, null, Split.TEST, base.id(), d.images()[i], "it"));
        }
        return rows;
    }

    private static Map<Integer, Long> versionsOf(Map<String, Prediction> seen, String prefix) {
        Map<Integer, Long> byVersion = new HashMap<>();
        seen.values().stream().filter(p -> p.imageId().startsWith(prefix + "-"))
                .forEach(p -> byVersion.merge(p.version(), 1L, Long::sum));
        return byVersion;
    }

    private static Consumer<byte[], byte[]> predictionsReader(KafkaSettings settings, Topics topics) {
        Consumer<byte[], byte[]> c = settings.consumer(null);
        List<TopicPartition> parts = c.partitionsFor(topics.predictions(), Duration.ofSeconds(10)).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        c.assign(parts);
        c.seekToBeginning(parts);
        return c;
    }

    private static void readUntil(Consumer<byte[], byte[]> c, Map<String, Prediction> seen, List<String> duplicates, int n) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (seen.size() < n && System.nanoTime() < deadline) {
            take(c, seen, duplicates, Duration.ofMillis(200));
        }
        assertThat(seen).as("predictions read").hasSize(n);
    }

    private static void drain(Consumer<byte[], byte[]> c, Map<String, Prediction> seen, List<String> duplicates) {
        for (int i = 0; i < 5; i++) {
            take(c, seen, duplicates, Duration.ofMillis(400));
        }
    }

    private static void take(Consumer<byte[], byte[]> c, Map<String, Prediction> seen, List<String> duplicates, Duration d) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(d)) {
            Prediction p = Json.fromBytes(r.value(), Prediction.class);
            assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo(p.imageId());
            if (seen.put(p.imageId(), p) != null) {
                duplicates.add(p.imageId());
            }
        }
    }
}
