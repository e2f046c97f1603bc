package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Split;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.kafka.TopicAdmin;
import dev.graft.common.model.Aliases;
import dev.graft.common.model.ModelRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Automatic promotion to {@code serving} on a real broker: a version whose validation accuracy is more
 * than the margin below the serving one's (re-evaluated on the same validation rows) becomes
 * {@code latest} but not {@code serving}. The worse version is made by adding train vectors with
 * shifted labels.
 */
class HeadTrainerPromotionIT {
    static final String TASK = "promotion";

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void worseVersionBecomesLatestButNotServing() throws Exception {
        Topics topics = Topics.defaults();
        HeadTrainerOptions options = HeadTrainerOptions.defaults(topics, TASK)
                .withHead(HeadConfig.defaults().withHiddenUnits(16).withEpochs(20))
                .withPolicy(new TrainingPolicy.Settings(180, Duration.ofHours(1), 2, 10))
                .withPromotionMargin(0.05);
        Random r = new Random(11);
        try (KafkaTestCluster kafka = KafkaTestCluster.start()) {
            KafkaSettings settings = KafkaSettings.of(kafka.bootstrapServers());
            try (Admin admin = settings.admin()) {
                TopicAdmin.ensureTopics(admin, topics, 1);
            }
            ModelRegistry registry = new ModelRegistry(topics, () -> settings.consumer(null));
            HeadTrainerService trainer = new HeadTrainerService(options, settings, Clock.systemUTC());
            BlockingQueue<ModelUpdateEvent> published = new LinkedBlockingQueue<>();
            trainer.onPublished(published::add);
            Thread t = new Thread(trainer, "promotion-trainer");
            t.start();
            try (FeatureFeed feed = new FeatureFeed(settings, topics, TASK, FeatureFeed.syntheticBase(32))) {
                feed.publish(feed.blobs(r, 0, 3, 3, 10, Split.VALIDATION, "val"));
                feed.publish(feed.blobs(r, 0, 3, 3, 60, Split.TRAIN, "p1"));
                ModelUpdateEvent v1 = published.poll(90, TimeUnit.SECONDS);
                assertThat(v1).isNotNull();
                assertThat(v1.metrics().validationAccuracy()).isGreaterThan(0.5);
                Aliases a1 = aliasesNaming(registry, ModelUpdateEvent.LATEST, 1);
                assertThat(a1.serving()).as("a first version is promoted").hasValue(1);
                assertThat(a1.get(ModelUpdateEvent.LATEST)).hasValue(1);

                // 180 more train rows whose labels are shifted by one class: v2 learns a wrong mapping
                List<FeatureRow> wrong = new ArrayList<>();
                for (FeatureRow row : feed.blobs(r, 0, 3, 3, 60, Split.TRAIN, "wrong")) {
                    String shifted = "c" + ((Integer.parseInt(row.label().substring(1)) + 1) % 3);
                    wrong.add(new FeatureRow(row.imageId(), row.task(), shifted, row.split(), row.baseId(), row.vector(), row.source()));
                }
                feed.publish(wrong);
                ModelUpdateEvent v2 = published.poll(90, TimeUnit.SECONDS);
                assertThat(v2).isNotNull();
                assertThat(v2.version()).isEqualTo(2);
                assertThat(v2.metrics().validationAccuracy()).isLessThan(v1.metrics().validationAccuracy() - 0.05);
                Aliases a2 = aliasesNaming(registry, ModelUpdateEvent.LATEST, 2);
                assertThat(a2.get(ModelUpdateEvent.LATEST)).hasValue(2);
                assertThat(a2.serving()).as("v2 is worse by more than the margin").hasValue(1);
                System.out.printf("PROMOTION v1 %.3f (serving), v2 %.3f (latest, not promoted), margin %.2f%n",
                        v1.metrics().validationAccuracy(), v2.metrics().validationAccuracy(), options.promotionMargin());
            } finally {
                trainer.close();
                t.join(30_000);
            }
        }
    }

    /**
     * The task's aliases once {@code alias} names {@code version} (waits up to 30 s). A version's transaction is
     * committed when its listener runs, but {@code commitTransaction()} can return before the broker has written the
     * commit markers, so a {@code read_committed} read right then can still end before the version's records (a CI
     * run saw LATEST at 1 just after version 2 was published).
     */
    private static Aliases aliasesNaming(ModelRegistry registry, String alias, int version) {
        return org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30))
                .until(() -> registry.aliases(TASK), a -> a.get(alias).equals(java.util.OptionalInt.of(version)));
    }
}
