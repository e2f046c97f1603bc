package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.model.ModelRegistry;
import dev.graft.featureworker.FeatureWorker;
import dev.graft.featureworker.FeatureWorkerOptions;
import dev.graft.headtrainer.HeadTrainerOptions;
import dev.graft.headtrainer.HeadTrainerService;
import dev.graft.headtrainer.TrainingPolicy;
import dev.graft.producer.IdxSource;
import dev.graft.producer.LabelledImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Labelled images in, classifier versions out, on a real broker (embedded KRaft, or Kafka in a
 * container where Docker runs), with the real pretrained base: `graft produce` publishes Fashion-MNIST,
 * a feature worker and a head trainer run as they do in production, and `graft classify` labels
 * held-out images written as PNG files from the published artifacts.
 */
class PipelineEndToEndIT {
    static final String TASK = "fashion-e2e";

    @Test
    @Timeout(value = 20, unit = TimeUnit.MINUTES)
    void labelledImagesInClassifierVersionsOut(@TempDir Path tmp) throws Exception {
        Path idx = IdxSource.FASHION_MNIST_DIR;
        assumeTrue(Files.isRegularFile(idx.resolve("t10k-images-idx3-ubyte.gz")),
                "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
        try (KafkaTestCluster kafka = KafkaTestCluster.start();
             BaseNetwork base = BaseNetworks.load("nsfwjs:mobilenet_v2", "block_12_add", 96, BaseNetworks.defaultCacheDir())) {
            String bootstrap = kafka.bootstrapServers();
            KafkaSettings settings = KafkaSettings.of(bootstrap);

            // 1. The producer CLI: 600 images of the train file (10% validation by hash), then 200 test images.
            assertThat(cli("produce", "--bootstrap-servers", bootstrap, "--task", TASK, "--idx", idx.toString(),
                    "--limit", "600", "--test-percent", "0").code()).isZero();
            assertThat(cli("produce", "--bootstrap-servers", bootstrap, "--task", TASK, "--idx", idx.toString(),
                    "--idx-part", "test", "--limit", "200").code()).isZero();

            // 2. A feature worker and a head trainer, as `graft feature-worker` / `graft head-trainer` run them.
            var topics = dev.graft.common.contract.Topics.defaults();
            MetricsServer metrics = MetricsServer.start(0, "e2e"); // as --metrics-port does
            KafkaSettings metered = KafkaMetricsBridge.install(settings, metrics.registry());
            FeatureWorker worker = FeatureWorker.create(
                    FeatureWorkerOptions.defaults(topics, "graft-features-" + base.ref().id(), "e2e-0"), metered, base);
            HeadTrainerService trainer = new HeadTrainerService(HeadTrainerOptions.defaults(topics, TASK)
                    .withPolicy(new TrainingPolicy.Settings(400, Duration.ofSeconds(30), 2, 10)), metered, Clock.systemUTC());
            GraftMetrics.bindFeatureWorker(metrics.registry(), worker, "e2e-0");
            GraftMetrics.bindHeadTrainer(metrics.registry(), trainer, TASK);
            BlockingQueue<ModelUpdateEvent> published = new LinkedBlockingQueue<>();
            trainer.onPublished(published::add);
            Thread w = new Thread(worker, "e2e-feature-worker");
            Thread t = new Thread(trainer, "e2e-head-trainer");
            w.start();
            t.start();
            try {
                ModelUpdateEvent v1 = published.poll(10, TimeUnit.MINUTES);
                assertThat(v1).as("a first version is published").isNotNull();
                assertThat(v1.version()).isEqualTo(1);

                // 3. More labelled data streams in: a second, better-informed version follows.
                assertThat(cli("produce", "--bootstrap-servers", bootstrap, "--task", TASK, "--idx", idx.toString(),
                        "--offset", "600", "--limit", "300", "--test-percent", "0").code()).isZero();
                ModelUpdateEvent v2 = awaitVersionTrainedOn(published, 2, 750);
                assertThat(v2.labels()).hasSize(10);
                assertThat(v2.metrics().trainCount()).isGreaterThan(v1.metrics().trainCount());
                assertThat(v2.metrics().validationCount()).isPositive();
                assertThat(v2.metrics().validationAccuracy()).isGreaterThan(0.6);
                assertThat(v2.base().id()).isEqualTo(base.ref().id());
                assertThat(v2.artifact().sha256()).hasSize(64);
                assertThat(v2.lineage().parentVersion()).isEqualTo(v2.version() - 1);
                await().atMost(Duration.ofMinutes(5)).until(() -> worker.featurizedCount() >= 1100);
                assertThat(worker.featurizedCount()).as("every image featurized once").isEqualTo(1100);
                assertThat(worker.deadLetterCount()).isZero();
                assertScrapedMetrics(metrics, v2.version());
            } finally {
                worker.close();
                trainer.close();
                metrics.close();
            }

            // 4. `graft models list` shows the versions; `graft classify` labels held-out PNG files.
            CliRun list = cli("models", "--bootstrap-servers", bootstrap, "--task", TASK, "list");
            assertThat(list.code()).isZero();
            assertThat(list.out()).contains("version").containsPattern("(?m)^1 ").containsPattern("(?m)^2 ");
            CliRun report = cli("report", "--bootstrap-servers", bootstrap, "--task", TASK, "--out", tmp.resolve("report").toString());
            assertThat(report.code()).as(report.err()).isZero();
            assertThat(Files.readString(tmp.resolve("report").resolve(HtmlReport.FILE_NAME))).contains("\"version\":2", "\"confusionMatrix\":[[");

            List<String> truth = new ArrayList<>();
            List<String> args = new ArrayList<>(List.of("classify", "--bootstrap-servers", bootstrap, "--task", TASK, "--top-k", "1"));
            try (IdxSource heldOut = IdxSource.fashionMnist(idx, "test", 5000, 20)) {
                int i = 0;
                while (heldOut.hasNext()) {
                    LabelledImage img = heldOut.next();
                    Path png = tmp.resolve("held-out-" + (i++) + ".png");
                    Files.write(png, img.bytes());
                    truth.add(img.label());
                    args.add(png.toString());
                }
            }
            CliRun classify = cli(args.toArray(String[]::new));
            assertThat(classify.code()).as(classify.err()).isZero();
            // the test logging configuration writes INFO logs to stdout, which cli() captures: keep the answers
            List<String> lines = classify.out().lines().filter(l -> l.startsWith(tmp.toString())).toList();
            assertThat(lines).hasSize(truth.size());
            int right = 0;
            for (int i = 0; i < lines.size(); i++) {
                assertThat(lines.get(i)).startsWith(tmp.resolve("held-out-" + i + ".png") + ": ").contains("(" + TASK + " v");
                if (lines.get(i).contains(": " + truth.get(i) + " ")) {
                    right++;
                }
            }
            assertThat(right).as("held-out images classified right, of %d:%n%s", truth.size(), classify.out())
                    .isGreaterThanOrEqualTo(14);

            // The published artifact is what classify used: fetchable and verified by any consumer.
            ModelRegistry registry = new ModelRegistry(topics, () -> settings.consumer(null));
            ModelUpdateEvent serving = registry.state(TASK).resolve(ModelUpdateEvent.SERVING).orElseThrow();
            assertThat(registry.fetch(serving.artifact())).hasSize((int) serving.artifact().sizeBytes());
            assertThat(lines).allMatch(l -> l.endsWith("(" + TASK + " v" + serving.version() + ")"));
        }
    }

    /** /metrics over HTTP while the roles run: Graft's meters moved, Kafka's consumer lag is there. */
    private static void assertScrapedMetrics(MetricsServer metrics, int version) throws Exception {
        java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + metrics.port() + "/metrics")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("graft_images_featurized_total{role=\"e2e\",worker=\"e2e-0\"} 1100.0")
                .contains("graft_dead_letters_total{role=\"e2e\",worker=\"e2e-0\"} 0.0")
                .containsPattern("graft_feature_batch_latency_seconds_count\\{role=\"e2e\",worker=\"e2e-0\"\\} [1-9]")
                .containsPattern("graft_training_time_seconds_count\\{role=\"e2e\",task=\"" + TASK + "\"\\} [1-9]")
                .containsPattern("graft_model_latest_version\\{role=\"e2e\",task=\"" + TASK + "\"\\} [" + version + "-9]\\.0")
                .contains("kafka_consumer_records_lag_max{client_id=")
                .contains("kafka_consumer_records_lag{client_id=");
    }

    private static ModelUpdateEvent awaitVersionTrainedOn(BlockingQueue<ModelUpdateEvent> q, int minVersion, int minTrain)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
        while (System.nanoTime() < deadline) {
            ModelUpdateEvent e = q.poll(5, TimeUnit.SECONDS);
            if (e != null && e.version() >= minVersion && e.metrics().trainCount() >= minTrain) {
                return e;
            }
        }
        throw new AssertionError("no version >= " + minVersion + " trained on >= " + minTrain + " images");
    }

    record CliRun(int code, String out, String err) {}

    static CliRun cli(String... args) {
        CommandLine cl = GraftCli.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.out;
        System.setOut(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            int code = cl.execute(args);
            return new CliRun(code, out.toString(java.nio.charset.StandardCharsets.UTF_8), err.toString());
        } finally {
            System.setOut(old);
        }
    }
}
