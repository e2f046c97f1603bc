package dev.graft.finetune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.graft.common.base.BaseArtifact;
import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.base.BaseResolver;
import dev.graft.common.base.BaseSpec;
import dev.graft.common.contract.ImageHeaders;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.RetrainRequest;
import dev.graft.common.contract.Split;
import dev.graft.common.contract.Topics;
import dev.graft.common.image.ImageDecoder;
import dev.graft.common.image.Resizer;
import dev.graft.common.image.RgbImage;
import dev.graft.common.json.Json;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.kafka.TopicAdmin;
import dev.graft.common.model.ModelRegistry;
import dev.graft.headtrainer.Evaluator;
import dev.graft.headtrainer.FashionMnist;
import dev.graft.headtrainer.HeadConfig;
import dev.graft.headtrainer.HeadTrainer;
import dev.graft.headtrainer.TrainedHead;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fine-tune worker on an embedded broker: real Fashion-MNIST PNGs on the images topic (task at 96 px, MobileNetV2
 * cut at block_12_add), a serving head trained on the frozen base's features, retrain requests on the topic.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FineTuneWorkerIT {
    static final String CUT = "block_12_add";
    static final int SIZE = 96;
    static final int TRAIN = 120;
    static final int VALIDATION = 48;

    KafkaTestCluster kafka;
    KafkaSettings settings;
    Topics topics;
    ModelRegistry registry;
    double servingAccuracy;

    @BeforeAll
    void publishImagesAndAServingHead() throws Exception {
        assumeTrue(FashionMnist.available(), "Fashion-MNIST not installed");
        kafka = KafkaTestCluster.start();
        settings = KafkaSettings.of(kafka.bootstrapServers());
        topics = Topics.defaults();
        try (Admin admin = settings.admin()) {
            TopicAdmin.ensureTopics(admin, topics, 2);
        }
        registry = new ModelRegistry(topics, () -> settings.consumer(null));
        FashionMnist.Data d = FashionMnist.train(TRAIN + VALIDATION);
        List<String> labels = FashionMnist.CLASSES;
        List<RgbImage> decoded = new ArrayList<>();
        ImageDecoder decoder = new ImageDecoder();
        try (KafkaProducer<byte[], byte[]> p = settings.producer()) {
            for (int i = 0; i < d.labels().length; i++) {
                byte[] png = png(d.images()[i]);
                decoded.add(decoder.decode(png));
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topics.images(),
                        ("fm-" + i).getBytes(StandardCharsets.UTF_8), png);
                ImageHeaders.put(r.headers(), ImageHeaders.TASK, "fmnist");
                ImageHeaders.put(r.headers(), ImageHeaders.LABEL, labels.get(d.labels()[i]));
                ImageHeaders.put(r.headers(), ImageHeaders.SPLIT, (i < TRAIN ? Split.TRAIN : Split.VALIDATION).wire());
                p.send(r);
            }
            p.flush();
        }
        BaseNetwork base = BaseNetworks.load("nsfwjs:mobilenet_v2", CUT, SIZE, BaseNetworks.defaultCacheDir());
        INDArray x = pixels(decoded);
        INDArray features = base.extract(x);
        int[] y = d.labels();
        TrainedHead head = new HeadTrainer().train(HeadConfig.defaults().withEpochs(30),
                features.getRows(range(0, TRAIN)), java.util.Arrays.copyOfRange(y, 0, TRAIN), labels, Optional.empty(),
                "fmnist", base.ref().id());
        Evaluator.Result val = Evaluator.evaluate(head, features.getRows(range(TRAIN, TRAIN + VALIDATION)),
                java.util.Arrays.copyOfRange(y, TRAIN, TRAIN + VALIDATION), labels);
        servingAccuracy = val.accuracy();
        try (KafkaProducer<byte[], byte[]> p = settings.transactionalProducer("fine-tune-it-setup")) {
            p.beginTransaction();
            registry.publish(p, new ModelUpdateEvent(ModelUpdateEvent.VERSION_PUBLISHED, "fmnist", 1, Instant.now(),
                    base.ref(), labels, val.toMetrics(TRAIN), new ModelUpdateEvent.Lineage(Map.of(), Map.of(),
                    head.config().architecture(), null), null), head.toBytes(), TrainedHead.FORMAT);
            registry.setAlias(p, "fmnist", ModelUpdateEvent.SERVING, 1, ModelUpdateEvent.REASON_PROMOTED, Instant.now());
            p.commitTransaction();
        }
        System.out.printf("serving head (frozen base): validation accuracy %.4f on %d images%n", servingAccuracy, VALIDATION);
    }

    @AfterAll
    void down() {
        if (kafka != null) kafka.close();
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void badRequestsAreRejectedAndTheWorkerGoesOnToPublishAFetchableBaseWhoseIdMatches(@TempDir Path tmp) throws Exception {
        useRequestTopic("requests-ok");
        try (Running w = Running.start(worker("ok", tmp.resolve("bases-w")))) {
            send(request("fmnist", "block_99_expand", 1, 1e-4, 16, ""));
            send(request("nosuchtask", "last 1 block", 1, 1e-4, 16, ""));
            send(request("fmnist", "last 1 block", 1, 5.0, 16, ""));
            RetrainRequest good = request("fmnist", "last 1 block", 1, 1e-4, 16, "flip");
            send(good);
            ModelUpdateEvent base = awaitBase("fmnist", 1);
            assertThat(w.worker.rejectedCount()).isEqualTo(3);

            List<ModelUpdateEvent> rejected = new ArrayList<>(registry.events("fmnist").stream()
                    .filter(ModelUpdateEvent::rejectsRetrain).toList());
            rejected.addAll(registry.events("nosuchtask").stream().filter(ModelUpdateEvent::rejectsRetrain).toList());
            assertThat(rejected).extracting(ModelUpdateEvent::reason).anySatisfy(r -> assertThat(r)
                    .contains("unknown layer 'block_99_expand'"));
            assertThat(rejected).extracting(ModelUpdateEvent::reason).anySatisfy(r -> assertThat(r)
                    .contains("unknown task 'nosuchtask'"));
            assertThat(rejected).extracting(ModelUpdateEvent::reason).anySatisfy(r -> assertThat(r)
                    .contains("learning rate must be in"));

            assertThat(base.base().spec()).isEqualTo("graft-base:fmnist/b1");
            assertThat(base.lineage().hyperParameters()).containsEntry("requestId", good.requestId())
                    .containsEntry("freezePoint", "block_12_expand").containsEntry("unfreezeFrom", "last 1 block");
            assertThat(base.lineage().parentVersion()).isEqualTo(1);
            assertThat(base.metrics().validationCount()).isEqualTo(VALIDATION);
            assertThat(base.metrics().trainCount()).isEqualTo(TRAIN);
            assertThat(base.artifact().format()).isEqualTo(BaseArtifact.FORMAT);

            // a consumer elsewhere resolves the spec: fetch, cache, load; same id; head + base reproduce the metrics
            BaseResolver resolver = new BaseResolver(registry, tmp.resolve("bases-reader"), BaseNetworks.defaultCacheDir());
            try (BaseNetwork loaded = resolver.load("graft-base:fmnist/b1", null, 0)) {
                assertThat(loaded.ref()).isEqualTo(base.base());
                BaseArtifact a = resolver.artifact(BaseSpec.parse("graft-base:fmnist/b1"));
                TrainedHead head = TrainedHead.fromBytes(a.headZip());
                assertThat(head.baseId()).isEqualTo(base.base().id());
                FashionMnist.Data d = FashionMnist.train(TRAIN + VALIDATION);
                List<RgbImage> val = new ArrayList<>();
                for (int i = TRAIN; i < TRAIN + VALIDATION; i++) val.add(new ImageDecoder().decode(png(d.images()[i])));
                Evaluator.Result r = Evaluator.evaluate(head, loaded.extract(pixels(val)),
                        java.util.Arrays.copyOfRange(d.labels(), TRAIN, TRAIN + VALIDATION), FashionMnist.CLASSES);
                assertThat(r.accuracy()).isEqualTo(base.metrics().validationAccuracy());
            }
            assertThat(tmp.resolve("bases-reader").resolve(base.base().id()).resolve("artifact.zip")).isRegularFile();
            System.out.printf("fine-tuned (last 1 block, 1 epoch): validation accuracy %.4f (serving head %.4f), %.1f train images/s%n",
                    base.metrics().validationAccuracy(), servingAccuracy,
                    ((Number) base.lineage().hyperParameters().get("trainImagesPerSecond")).doubleValue());
        }
    }

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void workerKilledNineDuringPublishingLeavesNoBaseVersionAndItsRestartPublishesExactlyOne(@TempDir Path tmp)
            throws Exception {
        useRequestTopic("requests-kill");
        String task = "fmnist";
        int before = registry.bases(task).size();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path log = tmp.resolve("worker.log");
        Process proc = new ProcessBuilder(List.of(javaBin, "-Xmx1g", "-XX:+IgnoreUnrecognizedVMOptions",
                "--add-opens=java.base/java.nio=ALL-UNNAMED", "-Dorg.bytedeco.javacpp.maxphysicalbytes=2g", "-cp", cp,
                FineTuneProcessMain.class.getName(), kafka.bootstrapServers(), topics.retrainRequests(), "ft-it-kill",
                "kill", tmp.resolve("bases-a").toString()))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            RetrainRequest q = request(task, "last 1 block", 1, 1e-4, 16, "");
            send(q);
            long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
            while (!(java.nio.file.Files.exists(log) && java.nio.file.Files.readString(log).contains(FineTuneProcessMain.COMMIT_MARK))) {
                assertThat(proc.isAlive()).as("worker process alive; log:%n%s", java.nio.file.Files.readString(log)).isTrue();
                assertThat(System.nanoTime()).as("commit mark within 4 minutes").isLessThan(deadline);
                Thread.sleep(100);
            }
            proc.destroyForcibly(); // SIGKILL inside the transaction: artifact, event and offset sent, not committed
            assertThat(proc.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(proc.exitValue()).isEqualTo(137);
            assertThat(registry.bases(task)).as("nothing of the open transaction is visible").hasSize(before);

            try (Running successor = Running.start(worker("kill", tmp.resolve("bases-b")))) {
                ModelUpdateEvent b = awaitBase(task, before + 1);
                assertThat(b.lineage().hyperParameters()).containsEntry("requestId", q.requestId());
                Thread.sleep(2000); // give a wrongly committed duplicate the chance to appear
                List<ModelUpdateEvent> forRequest = registry.bases(task).stream()
                        .filter(e -> q.requestId().equals(e.lineage().hyperParameters().get("requestId"))).toList();
                assertThat(forRequest).as("exactly one base version for the request").hasSize(1);
                assertThat(registry.bases(task)).hasSize(before + 1);
                assertThat(registry.fetch(b.artifact())).hasSize((int) b.artifact().sizeBytes());
                assertThat(successor.worker.publishedCount()).isEqualTo(1);
            }
        } finally {
            proc.destroyForcibly();
        }
    }

    // --- helpers

    /** Each test its own retrain-requests topic (images, model updates and artifacts are shared). */
    void useRequestTopic(String name) {
        Topics d = Topics.defaults();
        topics = new Topics(d.images(), d.features(), d.modelUpdates(), d.modelArtifacts(), "it." + name, d.deadLetters(), d.predictions());
        try (Admin admin = settings.admin()) {
            TopicAdmin.ensureTopics(admin, topics, 2);
        }
    }

    FineTuneWorker worker(String id, Path basesDir) {
        FineTuneWorkerOptions o = FineTuneWorkerOptions.defaults(topics, id, basesDir, BaseNetworks.defaultCacheDir())
                .withGroupId("ft-it-" + id);
        return FineTuneWorker.create(o, settings);
    }

    static RetrainRequest request(String task, String from, int epochs, double lr, int batch, String aug) {
        return new RetrainRequest(java.util.UUID.randomUUID().toString(), task, from, epochs, lr, batch, aug, "it",
                Instant.now());
    }

    void send(RetrainRequest q) throws Exception {
        try (Producer<byte[], byte[]> p = settings.producer()) {
            p.send(new ProducerRecord<>(topics.retrainRequests(), q.task().getBytes(StandardCharsets.UTF_8),
                    Json.toBytes(q))).get();
        }
    }

    ModelUpdateEvent awaitBase(String task, int version) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
        while (System.nanoTime() < deadline) {
            Optional<ModelUpdateEvent> e = registry.base(task, version);
            if (e.isPresent()) return e.get();
            Thread.sleep(1000);
        }
        throw new AssertionError("no base version " + version + " of " + task);
    }

    static int[] range(int from, int to) {
        return java.util.stream.IntStream.range(from, to).toArray();
    }

    static INDArray pixels(List<RgbImage> images) {
        float[] buf = new float[images.size() * Resizer.floatsPerImage(SIZE)];
        for (int i = 0; i < images.size(); i++) {
            Resizer.resizeInto(images.get(i), SIZE, buf, i * Resizer.floatsPerImage(SIZE));
        }
        return Nd4j.create(buf, new long[] {images.size(), SIZE, SIZE, 3}, 'c');
    }

    static byte[] png(float[] px) throws Exception {
        BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        for (int i = 0; i < px.length; i++) img.getRaster().setSample(i % 28, i / 28, 0, Math.round(px[i] * 255));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    /** A worker on its own thread. */
    record Running(FineTuneWorker worker, Thread thread) implements AutoCloseable {
        static Running start(FineTuneWorker w) {
            Thread t = new Thread(w, "fine-tune-worker");
            t.start();
            return new Running(w, t);
        }

        @Override
        public void close() throws InterruptedException {
            worker.close();
            thread.join(30_000);
        }
    }

    static Clock clock() {
        return Clock.systemUTC();
    }
}
