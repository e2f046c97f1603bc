package dev.graft.featureworker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.graft.common.contract.FeatureBatchCodec;
import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.ImageHeaders;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.kafka.TopicAdmin;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A second worker joins the group while the first holds a full queue with records of every partition and its
 * forward pass is stuck: the first gives up its revoked partitions after that one batch, not after its whole
 * queue, drops the queued batches (the revoked partitions' go to the newcomer, the kept ones' are read again, a
 * seek inside {@code onPartitionsRevoked} on a real consumer), and between the two workers every image is
 * committed exactly once.
 */
class RevocationWithAFullQueueIT {
    static final int PARTITIONS = 4;
    static final int PER_PARTITION = 30;
    static final int BATCH = 8;

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void workerJoiningDuringAFullQueueTakesItsPartitionsWithoutLossOrDuplicates() throws Exception {
        Topics topics = Topics.withPrefix("revoke.");
        try (KafkaTestCluster kafka = KafkaTestCluster.start()) {
            KafkaSettings settings = kafka.settings();
            try (Admin admin = settings.admin()) {
                TopicAdmin.ensureTopics(admin, topics, PARTITIONS);
            }
            List<String> ids = publish(settings, topics);
            // Two batches pass, then the third is held: the 104 images left (all four partitions') are queued,
            // within the 128 the inference thread holds.
            FakeBase stuck = new FakeBase(8).holdFrom(2);
            FeatureWorker first = FeatureWorker.create(FeatureWorkerOptions.defaults(topics, "revoke", "w0")
                    .withBatchSize(BATCH), settings, stuck);
            Thread t0 = new Thread(first, "first-worker");
            t0.start();
            FeatureWorker second = null;
            Thread t1 = null;
            try {
                await().atMost(Duration.ofMinutes(1)).until(() -> first.featurizedCount() == 2 * BATCH
                        && stuck.passes.get() == 3);
                second = FeatureWorker.create(FeatureWorkerOptions.defaults(topics, "revoke", "w1")
                        .withBatchSize(BATCH), settings, new FakeBase(8));
                t1 = new Thread(second, "second-worker");
                t1.start();
                // The first worker's revocation drops its queue while the held batch still runs.
                await().atMost(Duration.ofMinutes(1)).until(() -> first.droppedAtRevocationCount() > 0);
                assertThat(stuck.passes.get()).as("no queued batch started once the revocation began").isEqualTo(3);
                stuck.open();
                FeatureWorker w1 = second;
                await().atMost(Duration.ofMinutes(2))
                        .until(() -> first.featurizedCount() + w1.featurizedCount() >= ids.size());
                assertThat(second.featurizedCount()).as("the newcomer featurized its partitions").isPositive();
                assertThat(first.assignment()).hasSize(PARTITIONS / 2);
            } finally {
                stuck.open();
                first.close();
                if (second != null) second.close();
                t0.join(35_000);
                if (t1 != null) t1.join(35_000);
            }
            assertThat(first.featurizedCount() + second.featurizedCount()).isEqualTo(ids.size());
            List<String> committed = new ArrayList<>();
            try (FeatureBatchCodec codec = new FeatureBatchCodec()) {
                for (ConsumerRecord<byte[], byte[]> r : KafkaReads.readCommitted(settings, topics.features(),
                        Duration.ofSeconds(30))) {
                    for (FeatureRow row : codec.decode(r.value())) committed.add(row.imageId());
                }
            }
            assertThat(committed).as("every image exactly once among the committed features")
                    .doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(ids);
        }
    }

    private static List<String> publish(KafkaSettings settings, Topics topics) {
        List<String> ids = new ArrayList<>();
        try (Producer<byte[], byte[]> p = settings.transactionalProducer("revoke-publisher")) {
            p.beginTransaction();
            for (int i = 0; i < PARTITIONS * PER_PARTITION; i++) {
                String id = "img-" + i;
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topics.images(), i % PARTITIONS,
                        id.getBytes(StandardCharsets.UTF_8), Corpus.fashionLikePng(i));
                ImageHeaders.put(r.headers(), ImageHeaders.TASK, "t");
                ImageHeaders.put(r.headers(), ImageHeaders.SPLIT, "train");
                p.send(r);
                ids.add(id);
            }
            p.commitTransaction();
        }
        return ids;
    }
}
