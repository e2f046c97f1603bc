package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Split;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.kafka.TopicAdmin;
import dev.graft.common.model.ModelRegistry;
import dev.graft.common.serving.HeadArtifact;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Class-incremental learning through the head trainer on a real broker: Fashion-MNIST raw pixels (784-d,
 * standing in for bottleneck vectors) published as feature batches, classes 0-4 first, then 5-9. The
 * trainer publishes one version per phase; the second warm-starts from the first and grows its output
 * layer. Measured on the separate test file with the published artifacts, read as an application would
 * ({@link HeadArtifact}).
 *
 * <p>The criterion, asserted literally: accuracy on test images of classes 0-4 with the 10-class
 * head stays within 5 points of the 5-class head's. Also reported: the same images with the argmax taken
 * over classes 0-4 only (forgetting proper, without the competition of the new classes).
 */
class ClassIncrementalIT {
    static final String TASK = "fashion-incremental";
    static final int TRAIN_PER_PHASE = 2000;
    static final int VALIDATION_PER_PHASE = 300;

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void oldClassesKeepTheirAccuracyWhenNewClassesArrive() throws Exception {
        assumeTrue(FashionMnist.available(), "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
        FashionMnist.Data train = FashionMnist.train(12_000);
        FashionMnist.Data test = FashionMnist.test(2000);
        Topics topics = Topics.defaults();
        HeadTrainerOptions options = HeadTrainerOptions.defaults(topics, TASK)
                // one training per phase: exactly when a phase's train vectors are all in
                .withPolicy(new TrainingPolicy.Settings(TRAIN_PER_PHASE, Duration.ofHours(1), 2, 10));
        try (KafkaTestCluster kafka = KafkaTestCluster.start()) {
            KafkaSettings settings = KafkaSettings.of(kafka.bootstrapServers());
            try (Admin admin = settings.admin()) {
                TopicAdmin.ensureTopics(admin, topics, 1);
            }
            ModelRegistry registry = new ModelRegistry(topics, () -> settings.consumer(null));
            HeadTrainerService trainer = new HeadTrainerService(options, settings, Clock.systemUTC());
            BlockingQueue<ModelUpdateEvent> published = new LinkedBlockingQueue<>();
            trainer.onPublished(published::add);
            Thread t = new Thread(trainer, "incremental-trainer");
            t.start();
            ModelUpdateEvent v1;
            ModelUpdateEvent v2;
            try (FeatureFeed feed = new FeatureFeed(settings, topics, TASK, FeatureFeed.syntheticBase(784))) {
                feed.publish(phase(train, 0, 5, TASK));
                v1 = published.poll(150, TimeUnit.SECONDS);
                assertThat(v1).as("version of phase one").isNotNull();
                feed.publish(phase(train, 5, 10, TASK));
                v2 = published.poll(150, TimeUnit.SECONDS);
                assertThat(v2).as("version of phase two").isNotNull();
            } finally {
                trainer.close();
                t.join(30_000);
            }
            HeadArtifact first = HeadArtifact.read(registry.fetch(v1.artifact()));
            HeadArtifact grown = HeadArtifact.read(registry.fetch(v2.artifact()));
            assertThat(first.labels()).hasSize(5);
            assertThat(grown.labels()).hasSize(10).startsWith(first.labels().toArray(String[]::new));
            assertThat(grown.meta().path("info").path("warmStarted").asBoolean()).as("v2 warm-started from v1").isTrue();

            double before = accuracy(first, test, 0, 5, 5);
            double after10 = accuracy(grown, test, 0, 5, 10);
            double afterOld = accuracy(grown, test, 0, 5, 5);
            double newClasses = accuracy(grown, test, 5, 10, 10);
            double all = accuracy(grown, test, 0, 10, 10);
            System.out.printf("INCREMENTAL v1 (5 classes, trained on %d, val acc %.4f): old-class test accuracy %.4f%n"
                            + "INCREMENTAL v2 (10 classes, trained on %d, val acc %.4f): old classes 10-way %.4f "
                            + "(change %+.1f points), old classes argmax over old %.4f (change %+.1f points), "
                            + "new classes %.4f, all 10 %.4f (%d test images); serving v%s%n",
                    v1.metrics().trainCount(), v1.metrics().validationAccuracy(), before,
                    v2.metrics().trainCount(), v2.metrics().validationAccuracy(), after10, 100 * (after10 - before),
                    afterOld, 100 * (afterOld - before), newClasses, all, test.labels().length,
                    registry.aliases(TASK).serving().orElse(-1));
            assertThat(registry.aliases(TASK).serving()).as("v2 promoted: v1 gets the new classes wrong").hasValue(2);
            assertThat(all).as("the final head classifies all 10 classes").isGreaterThan(0.75);
            assertThat(afterOld).as("no forgetting among old classes").isGreaterThanOrEqualTo(before - 0.05);
            assertThat(after10).as("issue criterion: old-class accuracy (10-way) within 5 points of before")
                    .isGreaterThanOrEqualTo(before - 0.05);
        }
    }

    /** Train rows (first TRAIN_PER_PHASE of the classes) then validation rows (the next ones), labels by name. */
    private static List<FeatureRow> phase(FashionMnist.Data d, int from, int to, String task) {
        List<FeatureRow> rows = new ArrayList<>();
        int n = 0;
        for (int i = 0; i < d.labels().length && n < TRAIN_PER_PHASE + VALIDATION_PER_PHASE; i++) {
            int y = d.labels()[i];
            if (y < from || y >= to) {
                continue;
            }
            Split split = n < TRAIN_PER_PHASE ? Split.TRAIN : Split.VALIDATION;
            rows.add(new FeatureRow("train-" + i, task, FashionMnist.CLASSES.get(y), split, "synthetic-784",
                    d.images()[i], "idx"));
            n++;
        }
        assertThat(n).isEqualTo(TRAIN_PER_PHASE + VALIDATION_PER_PHASE);
        return rows;
    }

    /**
     * Accuracy on test images of classes [from, to), the argmax taken over the head's outputs whose labels
     * are among the first {@code among} classes.
     */
    private static double accuracy(HeadArtifact head, FashionMnist.Data d, int from, int to, int among) {
        List<String> allowed = FashionMnist.CLASSES.subList(0, among);
        int n = 0;
        int right = 0;
        for (int i = 0; i < d.labels().length; i++) {
            int y = d.labels()[i];
            if (y < from || y >= to) {
                continue;
            }
            float[] p = head.predict(d.images()[i]);
            int best = -1;
            for (int k = 0; k < p.length; k++) {
                if (allowed.contains(head.labels().get(k)) && (best < 0 || p[k] > p[best])) {
                    best = k;
                }
            }
            n++;
            right += head.labels().get(best).equals(FashionMnist.CLASSES.get(y)) ? 1 : 0;
        }
        return (double) right / n;
    }
}
