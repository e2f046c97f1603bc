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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Class-incremental learning through the head trainer on a real broker: Fashion-MNIST raw pixels (784-d,
 * standing in for bottleneck vectors) published as feature batches, classes 0-4 first, then 5-9, 6000 train and
 * 300 validation images per phase. The trainer publishes one version per phase; the second warm-starts from the
 * first and grows its output layer. Measured on the whole separate test file (10,000 images, 5000 of the old
 * classes) with the published artifacts, read as an application would ({@link HeadArtifact}).
 *
 * <p>The issue's criterion: accuracy on test images of classes 0-4 with the 10-class head stays within 5 points of
 * the 5-class head's. Measured here with the trainer's default head (seed 42): -3.9 points (0.884 -> 0.845); the
 * same images scored among the old classes only: -0.7, i.e. what is lost goes to the new classes, Shirt above all.
 *
 * <p><b>How much margin that is</b> (third session, {@code HeadTrainer} directly, 15 epochs, batch 100, the whole
 * test file, seeds 1-3): the 10-way drop on the old classes was -5.3/-6.6/-3.1 points with ~2000 train images per
 * phase (this test used 2000 before and missed), -3.5/-3.5/-4.5 with ~6000, -3.8/-5.4/-4.0 with ~15000; a head
 * trained <em>from scratch</em> on all 10 classes loses as much (-5.9/-5.8/-4.7, -3.1/-4.1/-5.3, -3.1/-5.5/-3.5).
 * So the warm-started head forgets nothing a joint head would keep: the drop is Fashion-MNIST's own confusion
 * between Shirt and T-shirt/Pullover/Coat, about 4 points give or take 1 with seed; more data does not remove it.
 */
class ClassIncrementalIT {
    static final String TASK = "fashion-incremental";
    static final int TRAIN_PER_PHASE = 6000;
    static final int VALIDATION_PER_PHASE = 300;

    /** What one run of the two phases measured (shared by the tests below: the run takes about two minutes). */
    record Measurement(double before, double after10, double afterOld, double newClasses, double all,
                       int firstLabels, int grownLabels, boolean grownStartsWithFirst, boolean warmStarted,
                       java.util.OptionalInt serving) {}

    static Measurement m;

    @BeforeAll
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    static void runBothPhases() throws Exception {
        assumeTrue(FashionMnist.available(), "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
        FashionMnist.Data train = FashionMnist.train(30_000); // enough for 6300 images of each phase's 5 classes
        FashionMnist.Data test = FashionMnist.test(10_000);   // the whole test file: 5000 images of the old classes
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
                v1 = published.poll(240, TimeUnit.SECONDS);
                assertThat(v1).as("version of phase one").isNotNull();
                feed.publish(phase(train, 5, 10, TASK));
                v2 = published.poll(240, TimeUnit.SECONDS);
                assertThat(v2).as("version of phase two").isNotNull();
            } finally {
                trainer.close();
                t.join(30_000);
            }
            HeadArtifact first = HeadArtifact.read(registry.fetch(v1.artifact()));
            HeadArtifact grown = HeadArtifact.read(registry.fetch(v2.artifact()));
            m = new Measurement(accuracy(first, test, 0, 5, 5), accuracy(grown, test, 0, 5, 10),
                    accuracy(grown, test, 0, 5, 5), accuracy(grown, test, 5, 10, 10), accuracy(grown, test, 0, 10, 10),
                    first.labels().size(), grown.labels().size(),
                    grown.labels().subList(0, Math.min(grown.labels().size(), first.labels().size())).equals(first.labels()),
                    grown.meta().path("info").path("warmStarted").asBoolean(), registry.aliases(TASK).serving());
            System.out.printf("INCREMENTAL v1 (5 classes, trained on %d, val acc %.4f): old-class test accuracy %.4f%n"
                            + "INCREMENTAL v2 (10 classes, trained on %d, val acc %.4f): old classes 10-way %.4f "
                            + "(change %+.1f points), old classes argmax over old %.4f (change %+.1f points), "
                            + "new classes %.4f, all 10 %.4f (%d test images); serving %s%n",
                    v1.metrics().trainCount(), v1.metrics().validationAccuracy(), m.before(),
                    v2.metrics().trainCount(), v2.metrics().validationAccuracy(), m.after10(),
                    100 * (m.after10() - m.before()), m.afterOld(), 100 * (m.afterOld() - m.before()),
                    m.newClasses(), m.all(), test.labels().length, m.serving());
        }
    }

    @Test
    void finalHeadClassifiesAllTenWithoutForgettingOldClasses() {
        assertThat(m.firstLabels()).isEqualTo(5);
        assertThat(m.grownLabels()).isEqualTo(10);
        assertThat(m.grownStartsWithFirst()).as("old labels keep their outputs").isTrue();
        assertThat(m.warmStarted()).as("v2 warm-started from v1").isTrue();
        assertThat(m.serving()).as("v2 promoted: v1 gets the new classes wrong").hasValue(2);
        assertThat(m.all()).as("the final head classifies all 10 classes").isGreaterThan(0.75);
        assertThat(m.afterOld()).as("no forgetting among old classes (argmax over old)").isGreaterThanOrEqualTo(m.before() - 0.05);
    }

    /**
     * The issue's literal criterion: the 10-class head's accuracy on the old classes' test images within 5 points of
     * the 5-class head's. Margin and its spread over seeds and data sizes: see the class comment.
     */
    @Test
    void issueCriterionOldClassAccuracyTenWayWithinFivePoints() {
        assertThat(m.after10()).as("issue criterion: old-class accuracy (10-way) within 5 points of before")
                .isGreaterThanOrEqualTo(m.before() - 0.05);
    }

    /**
     * Validation rows first (so the whole phase's validation split is in when the train rows trigger a
     * training), then train rows: the first TRAIN_PER_PHASE images of the classes train, the next validate.
     */
    private static List<FeatureRow> phase(FashionMnist.Data d, int from, int to, String task) {
        List<FeatureRow> trainRows = new ArrayList<>();
        List<FeatureRow> rows = new ArrayList<>();
        int n = 0;
        for (int i = 0; i < d.labels().length && n < TRAIN_PER_PHASE + VALIDATION_PER_PHASE; i++) {
            int y = d.labels()[i];
            if (y < from || y >= to) {
                continue;
            }
            Split split = n < TRAIN_PER_PHASE ? Split.TRAIN : Split.VALIDATION;
            (split == Split.TRAIN ? trainRows : rows).add(new FeatureRow("train-" + i, task,
                    FashionMnist.CLASSES.get(y), split, "synthetic-784", d.images()[i], "idx"));
            n++;
        }
        assertThat(n).isEqualTo(TRAIN_PER_PHASE + VALIDATION_PER_PHASE);
        rows.addAll(trainRows);
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
