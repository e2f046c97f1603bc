package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Split;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.model.ModelRegistry;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.Producer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 7 on a real broker: one Fashion-MNIST task featurized by the real nsfwjs MobileNetV2 at 96 px at two
 * cuts, as a feature worker with {@code --cuts} writes them (one record per cut, each its own base id and
 * header): {@code block_12_add} (96-d, mid-network) and {@code block_1_project_BN} (24-d, the second block:
 * little more than edges and grey levels). The trainer trains a head per cut on the same labelled images each
 * round and publishes the better; after enough labels the mid-network cut serves and its event names it,
 * with the other cut's score next to it.
 */
class CutSelectionIT {
    static final String TASK = "fashion-cuts";
    static final String GOOD = "block_12_add";
    static final String EARLY = "block_1_project_BN";
    static final int FIRST = 50;
    static final int TRAIN = 300;
    static final int VALIDATION = 150;

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void betterCutServesAfterEnoughLabelsAndItsEventNamesIt() throws Exception {
        assumeTrue(FashionMnist.available(), "Fashion-MNIST not installed");
        assumeTrue(Files.isDirectory(dev.graft.common.base.BaseNetworks.defaultCacheDir()), "nsfwjs models not cached");
        FashionMnist.Data data = FashionMnist.train(TRAIN + VALIDATION);
        int[] idx = new int[TRAIN + VALIDATION];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        Map<String, RealFeatures.Cut> cuts = RealFeatures.extract(data, idx, 96, GOOD, EARLY);
        RealFeatures.Cut good = cuts.get(GOOD);
        RealFeatures.Cut early = cuts.get(EARLY);
        assertThat(good.base().id()).isNotEqualTo(early.base().id());

        Topics topics = Topics.defaults();
        HeadTrainerOptions options = HeadTrainerOptions.defaults(topics, TASK)
                .withHead(HeadConfig.defaults().withEpochs(30))
                // a round when FIRST, then when all TRAIN train images are in (per cut: the count is of images)
                .withPolicy(new TrainingPolicy.Settings(FIRST, Duration.ofHours(1), 2, 10))
                .withBaseIds(List.of(good.base().id(), early.base().id()));
        try (KafkaTestCluster kafka = KafkaTestCluster.start()) {
            KafkaSettings settings = RunningTrainer.topics(kafka, topics, 1);
            ModelRegistry registry = new ModelRegistry(topics, () -> settings.consumer(null));
            RunningTrainer trainer = RunningTrainer.start(options, settings, null);
            List<ModelUpdateEvent> versions = new ArrayList<>();
            try (FeatureFeed goodFeed = new FeatureFeed(settings, topics, TASK, good.base());
                 FeatureFeed earlyFeed = new FeatureFeed(settings, topics, TASK, early.base());
                 Producer<byte[], byte[]> tx = settings.transactionalProducer("cut-selection-feed")) {
                // validation rows of both cuts first, then the first FIRST train images, then the rest
                publish(tx, data, good, early, goodFeed, earlyFeed, TRAIN, TRAIN + VALIDATION, Split.VALIDATION);
                publish(tx, data, good, early, goodFeed, earlyFeed, 0, FIRST, Split.TRAIN);
                versions.add(trainer.next());
                publish(tx, data, good, early, goodFeed, earlyFeed, FIRST, TRAIN, Split.TRAIN);
                ModelUpdateEvent last;
                do {
                    last = trainer.next();
                    versions.add(last);
                } while (last.metrics().trainCount() < TRAIN || last.lineage().candidates() == null
                        || last.lineage().candidates().size() < 2);
            } finally {
                trainer.close();
            }
            for (ModelUpdateEvent v : versions) {
                System.out.printf("CUTS v%d trained on %d: base %s, cut %s, candidates %s%n", v.version(),
                        v.metrics().trainCount(), v.base().id(), v.base().cut(), v.lineage().candidates());
            }
            ModelUpdateEvent last = versions.get(versions.size() - 1);
            assertThat(last.base().id()).as("the better cut won the round on all labels").isEqualTo(good.base().id());
            assertBetterCutWon(last, good, early);
            // serving: the last version, or an earlier one if the last was within noise below it (promotion margin)
            ModelUpdateEvent serving = registry.state(TASK).resolve(ModelUpdateEvent.SERVING).orElseThrow();
            assertThat(serving.base().cut()).as("the serving version's event names the better cut").isEqualTo(GOOD);
            assertBetterCutWon(serving, good, early);
        }
    }

    private static void assertBetterCutWon(ModelUpdateEvent v, RealFeatures.Cut good, RealFeatures.Cut early) {
        Map<String, ModelUpdateEvent.Candidate> scores = v.lineage().candidates();
        assertThat(v.base().cut()).isEqualTo(GOOD);
        assertThat(scores).containsOnlyKeys(good.base().id(), early.base().id());
        assertThat(scores.get(good.base().id()).cut()).isEqualTo(GOOD);
        assertThat(scores.get(early.base().id()).cut()).isEqualTo(EARLY);
        assertThat(scores.get(good.base().id()).validationAccuracy())
                .as("the mid-network cut is clearly better on Fashion-MNIST")
                .isGreaterThan(scores.get(early.base().id()).validationAccuracy() + 0.05);
        assertThat(scores.get(good.base().id()).validationAccuracy()).isEqualTo(v.metrics().validationAccuracy());
        assertThat(scores.get(good.base().id()).validationCount()).isEqualTo(VALIDATION);
    }

    /** Images [from, to) of both cuts, batch by batch: one record per cut, both in one transaction, as a feature worker writes them. */
    private static void publish(Producer<byte[], byte[]> tx, FashionMnist.Data d, RealFeatures.Cut good,
                                RealFeatures.Cut early, FeatureFeed goodFeed, FeatureFeed earlyFeed, int from, int to,
                                Split split) {
        for (int start = from; start < to; start += FeatureFeed.BATCH) {
            int end = Math.min(to, start + FeatureFeed.BATCH);
            tx.beginTransaction();
            tx.send(earlyFeed.record(rows(d, early, start, end, split)));
            tx.send(goodFeed.record(rows(d, good, start, end, split)));
            tx.commitTransaction();
        }
    }

    private static List<FeatureRow> rows(FashionMnist.Data d, RealFeatures.Cut cut, int from, int to, Split split) {
        List<FeatureRow> rows = new ArrayList<>();
        for (int i = from; i < to; i++) {
            rows.add(new FeatureRow("img-" + i, TASK, FashionMnist.CLASSES.get(d.labels()[i]), split, cut.base().id(),
                    cut.vectors()[i], "test"));
        }
        return rows;
    }
}
