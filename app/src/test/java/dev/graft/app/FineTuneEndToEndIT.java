package dev.graft.app;

import static dev.graft.app.PipelineEndToEndIT.cli;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.base.BaseResolver;
import dev.graft.common.contract.FeatureBatchCodec;
import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.kafka.TopicAdmin;
import dev.graft.common.model.ModelRegistry;
import dev.graft.featureworker.BaseFollower;
import dev.graft.featureworker.FeatureWorker;
import dev.graft.featureworker.FeatureWorkerOptions;
import dev.graft.finetune.FineTuneWorker;
import dev.graft.finetune.FineTuneWorkerOptions;
import dev.graft.headtrainer.HeadTrainerOptions;
import dev.graft.headtrainer.HeadTrainerService;
import dev.graft.headtrainer.TrainingPolicy;
import dev.graft.producer.IdxSource;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 3's whole story on a real broker with the real pretrained base: `graft produce` publishes Fashion-MNIST,
 * a feature worker (with its base follower), a head trainer and a fine-tune worker run in-process, `graft retrain`
 * asks for a fine-tune; the fine-tuned base is published, adopted as the task's next head version, and every image
 * is re-featurized with it exactly once while the original base's features stay as they were.
 */
class FineTuneEndToEndIT {
    static final String TASK = "fashion-ft-e2e";
    static final int IMAGES = 300;

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void retrainRequestYieldsAdoptedFineTunedBaseAndEveryImageRefeaturizedOnce(@TempDir Path tmp) throws Exception {
        Path idx = IdxSource.FASHION_MNIST_DIR;
        assumeTrue(Files.isRegularFile(idx.resolve("train-images-idx3-ubyte.gz")),
                "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
        Topics topics = Topics.defaults();
        try (KafkaTestCluster kafka = KafkaTestCluster.start();
             BaseNetwork base = BaseNetworks.load("nsfwjs:mobilenet_v2", "block_12_add", 96, BaseNetworks.defaultCacheDir())) {
            String bootstrap = kafka.bootstrapServers();
            KafkaSettings settings = KafkaSettings.of(bootstrap);
            try (Admin admin = settings.admin()) {
                TopicAdmin.ensureTopics(admin, topics, 2);
            }
            assertThat(cli("produce", "--bootstrap-servers", bootstrap, "--task", TASK, "--idx", idx.toString(),
                    "--limit", String.valueOf(IMAGES), "--test-percent", "0").code()).isZero();
            List<String> imageIds = readCommitted(settings, topics.images()).stream()
                    .map(r -> new String(r.key(), StandardCharsets.UTF_8)).toList();
            assertThat(imageIds).hasSize(IMAGES).doesNotHaveDuplicates();

            String originalId = base.ref().id();
            FeatureWorkerOptions fwOptions = FeatureWorkerOptions.defaults(topics, "graft-features-" + originalId, "ft-e2e-0");
            FeatureWorker worker = FeatureWorker.create(fwOptions, settings, base);
            ModelRegistry registry = new ModelRegistry(topics, () -> settings.consumer(null));
            BaseResolver resolver = new BaseResolver(registry, tmp.resolve("follower-bases"), BaseNetworks.defaultCacheDir());
            BaseFollower follower = BaseFollower.create(fwOptions, "ft-e2e-follow", settings,
                    ref -> resolver.load(ref.spec(), ref.cut(), ref.inputSize()), 2, Set.of(originalId));
            HeadTrainerService trainer = new HeadTrainerService(HeadTrainerOptions.defaults(topics, TASK)
                    .withPolicy(new TrainingPolicy.Settings(200, Duration.ofSeconds(30), 2, 10)), settings, Clock.systemUTC());
            BlockingQueue<ModelUpdateEvent> published = new LinkedBlockingQueue<>();
            trainer.onPublished(published::add);
            FineTuneWorker fineTuner = FineTuneWorker.create(
                    FineTuneWorkerOptions.defaults(topics, "ft-e2e", tmp.resolve("fine-tune-bases"), BaseNetworks.defaultCacheDir()),
                    settings);
            List<Thread> threads = List.of(new Thread(worker, "e2e-feature-worker"), new Thread(follower, "e2e-base-follower"),
                    new Thread(trainer, "e2e-head-trainer"), new Thread(fineTuner, "e2e-fine-tune-worker"));
            threads.forEach(Thread::start);
            try {
                ModelUpdateEvent v1 = published.poll(8, TimeUnit.MINUTES);
                assertThat(v1).as("head version 1 on the pretrained base").isNotNull();
                assertThat(v1.version()).isEqualTo(1);
                assertThat(v1.base().id()).isEqualTo(originalId);
                await().atMost(Duration.ofMinutes(3)).until(() -> worker.featurizedCount() >= IMAGES);
                assertThat(rowsOf(settings, topics, originalId)).hasSize(IMAGES);

                // `graft retrain`: unfreeze the last block, one epoch, small batches
                PipelineEndToEndIT.CliRun retrain = cli("retrain", "--bootstrap-servers", bootstrap, "--task", TASK,
                        "--unfreeze-from", "last 1 blocks", "--epochs", "1", "--batch-size", "8");
                assertThat(retrain.code()).as(retrain.err()).isZero();
                String requestId = retrain.out().lines().map(String::trim).filter(l -> l.matches("[0-9a-f-]{36}"))
                        .reduce((a, b) -> b).orElseThrow();

                // (1) the fine-tune worker publishes the new base: validation accuracy, fetchable artifact
                ModelUpdateEvent baseEvent = await().atMost(Duration.ofMinutes(8)).pollInterval(Duration.ofSeconds(2))
                        .until(() -> registry.events(TASK).stream()
                                .filter(e -> e.publishesBase() || e.rejectsRetrain())
                                .filter(e -> e.lineage() != null && requestId.equals(e.lineage().hyperParameters().get("requestId")))
                                .findFirst(), Optional::isPresent).orElseThrow();
                assertThat(baseEvent.publishesBase()).as("not rejected: %s", baseEvent.reason()).isTrue();
                assertThat(baseEvent.type()).isEqualTo(ModelUpdateEvent.BASE_PUBLISHED);
                assertThat(baseEvent.metrics().validationAccuracy()).isGreaterThan(0.0).isLessThanOrEqualTo(1.0);
                assertThat(registry.fetch(baseEvent.artifact())).hasSize((int) baseEvent.artifact().sizeBytes());
                String newId = baseEvent.base().id();
                assertThat(newId).isNotEqualTo(originalId);

                // (2) the head trainer adopts it as a head version on the new base
                ModelUpdateEvent adopted = awaitFineTunedVersion(published, newId);
                assertThat(adopted.version()).isGreaterThan(1);
                assertThat(adopted.metrics().validationAccuracy()).isEqualTo(baseEvent.metrics().validationAccuracy());
                assertThat(adopted.metrics().validationCount()).isPositive();

                // (3) re-featurization: every image exactly once under the new base, the original's rows unchanged
                await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofSeconds(2))
                        .until(() -> rowsOf(settings, topics, newId).size() >= IMAGES);
                assertThat(follower.followedBaseIds()).contains(newId);
                assertThat(rowsOf(settings, topics, newId)).as("every image exactly once under the new base")
                        .doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(imageIds);
                assertThat(rowsOf(settings, topics, originalId)).as("original base's rows").hasSize(IMAGES);
            } finally {
                fineTuner.close();
                follower.close();
                worker.close();
                trainer.close();
                for (Thread t : threads) t.join(35_000);
            }
        }
    }

    private static ModelUpdateEvent awaitFineTunedVersion(BlockingQueue<ModelUpdateEvent> q, String baseId)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (System.nanoTime() < deadline) {
            ModelUpdateEvent e = q.poll(2, TimeUnit.SECONDS);
            if (e != null && baseId.equals(e.base().id())) {
                Map<String, Object> hp = e.lineage().hyperParameters();
                if (Boolean.TRUE.equals(hp.get(HeadTrainerService.FINE_TUNED))) return e;
            }
        }
        throw new AssertionError("no head version on base " + baseId + " with " + HeadTrainerService.FINE_TUNED + "=true");
    }

    /** Image ids of the committed feature rows of one base, in log order. */
    private static List<String> rowsOf(KafkaSettings settings, Topics topics, String baseId) {
        List<String> out = new ArrayList<>();
        try (FeatureBatchCodec codec = new FeatureBatchCodec()) {
            for (ConsumerRecord<byte[], byte[]> r : readCommitted(settings, topics.features())) {
                for (FeatureRow row : codec.decode(r.value())) {
                    if (row.baseId().equals(baseId)) out.add(row.imageId());
                }
            }
        }
        return out;
    }

    /** A whole topic as a read_committed consumer sees it, up to the last stable offsets. */
    private static List<ConsumerRecord<byte[], byte[]>> readCommitted(KafkaSettings settings, String topic) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (Consumer<byte[], byte[]> c = settings.consumer(null)) {
            List<TopicPartition> tps = c.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!tps.stream().allMatch(tp -> c.position(tp) >= end.get(tp))) {
                assertThat(System.nanoTime()).as("%s read to %s within 30 s", topic, end).isLessThan(deadline);
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }
}
