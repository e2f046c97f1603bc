package dev.graft.app;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Split;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.EmbeddedKafkaBroker;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.TopicAdmin;
import dev.graft.common.model.AliasWatcher;
import dev.graft.common.model.ModelRegistry;
import dev.graft.common.progress.Progress;
import dev.graft.common.serving.ServingClient;
import dev.graft.featureworker.FeatureWorker;
import dev.graft.featureworker.FeatureWorkerOptions;
import dev.graft.headtrainer.Classifier;
import dev.graft.headtrainer.Evaluator;
import dev.graft.headtrainer.HeadTrainerOptions;
import dev.graft.headtrainer.HeadTrainerService;
import dev.graft.headtrainer.TrainedHead;
import dev.graft.headtrainer.TrainingPolicy;
import dev.graft.producer.IdxSource;
import dev.graft.producer.ImagePublisher;
import dev.graft.producer.LabelledImage;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.Producer;

/**
 * The whole pipeline in one JVM: an embedded Kafka broker, a feature worker, a head trainer, and a
 * producer streaming Fashion-MNIST in phases; each phase ends with a new classifier version. Test
 * accuracy of every version is measured on the test images' features; a few test images are then
 * classified through the published artifacts, as any consumer would.
 */
public final class Demo {

    /** What to run. {@code trainPerPhase} counts train-split images; validation images come on top. */
    public record Settings(Path idxDir, String task, String baseSpec, String cut, int inputSize, int phases,
                           int trainPerPhase, int testImages, double validationPercent, int batchSize,
                           Path modelCache, Duration phaseTimeout) {
        public Settings {
            if (phases < 1 || trainPerPhase < 10 || testImages < 1 || batchSize < 1) {
                throw new IllegalArgumentException("phases >= 1, train per phase >= 10, test images >= 1 and batch size >= 1 are required");
            }
        }
    }

    public record VersionRow(int version, int trainImages, int validationImages, double validationAccuracy,
                             double testAccuracy) {}

    public record Result(String baseId, List<VersionRow> versions, List<String> classified, double featureImagesPerSecond,
                         long imagesFeaturized, double elapsedSeconds) {}

    private final Settings s;
    private final PrintStream out;
    private io.micrometer.core.instrument.MeterRegistry metrics;
    private final List<ModelUpdateEvent> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile List<ModelUpdateEvent> taskLog;

    private DemoFineTune.Settings fineTune;
    private DemoFineTune.Result fineTuned;

    /** After the head phases, also fine-tune the base (retrain request, fine-tune worker in-process). */
    public Demo withFineTune(DemoFineTune.Settings settings) {
        this.fineTune = settings;
        return this;
    }

    /** The fine-tune phase's result, if it ran. */
    public Optional<DemoFineTune.Result> fineTuned() {
        return Optional.ofNullable(fineTuned);
    }

    /** Binds the worker's and trainer's meters to this registry when they start. */
    public Demo withMetrics(io.micrometer.core.instrument.MeterRegistry registry) {
        this.metrics = registry;
        return this;
    }

    private volatile Thread workerThread;
    private volatile Thread trainerThread;

    /** For /health: false once the feature worker's or head trainer's thread died (true while they start). */
    public boolean healthy() {
        Thread w = workerThread;
        Thread t = trainerThread;
        return (w == null || w.isAlive()) && (t == null || t.isAlive());
    }

    /**
     * The task's events for the report: the registry's whole log (versions and serving-alias moves) as read at the
     * end of the run, or, if the run failed before that, the versions published during it.
     */
    public List<ModelUpdateEvent> events() {
        return taskLog != null ? taskLog : List.copyOf(events);
    }

    public Demo(Settings settings, PrintStream out) {
        this.s = settings;
        this.out = out;
    }

    public Result run() throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        requireIdx(s.idxDir());
        out.printf("loading base %s (cut %s, %dpx)%n", s.baseSpec(), s.cut(), s.inputSize());
        Topics topics = Topics.defaults();
        try (BaseNetwork base = BaseNetworks.load(s.baseSpec(), s.cut(), s.inputSize(), s.modelCache());
             EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().build().start()) {
            out.printf("base %s: %d-d features; embedded Kafka at %s (started in %.1f s)%n", base.ref().id(),
                    base.ref().featureDim(), broker.bootstrapServers(), broker.startDuration().toMillis() / 1000.0);
            KafkaSettings plain = KafkaSettings.of(broker.bootstrapServers());
            KafkaSettings kafka = metrics == null ? plain : KafkaMetricsBridge.install(plain, metrics);
            try (Admin admin = kafka.admin()) {
                TopicAdmin.ensureTopics(admin, topics, 2);
            }
            FeatureWorker worker = FeatureWorker.create(
                    FeatureWorkerOptions.defaults(topics, "graft-features-" + base.ref().id(), "demo-0").withBatchSize(s.batchSize())
                            .withQueuedImages(FeatureWorkerOptions.queuedImagesFor(base.ref().inputSize())), // as graft feature-worker
                    kafka, base);
            HeadTrainerOptions hto = HeadTrainerOptions.defaults(topics, s.task())
                    .withPolicy(new TrainingPolicy.Settings(s.trainPerPhase(), Duration.ofMinutes(30), 2, 10));
            HeadTrainerService trainer = new HeadTrainerService(hto, kafka, Clock.systemUTC());
            BlockingQueue<ModelUpdateEvent> published = new LinkedBlockingQueue<>();
            trainer.onPublished(published::add);
            trainer.onPublished(events::add);
            ModelRegistry registry = new ModelRegistry(topics, () -> kafka.consumer(null));
            AliasWatcher servingWatcher = null;
            if (metrics != null) {
                GraftMetrics.bindFeatureWorker(metrics, worker, "demo-0");
                GraftMetrics.bindHeadTrainer(metrics, trainer, s.task());
                servingWatcher = GraftMetrics.watchServingVersion(metrics, registry, s.task());
            }
            workerThread = start(worker, "feature-worker");
            trainerThread = start(trainer, "head-trainer");
            List<VersionRow> rows = new ArrayList<>();
            List<String> classified;
            long featStart = System.nanoTime();
            try (Producer<byte[], byte[]> producer = kafka.imageProducer()) {
                ImagePublisher publisher = new ImagePublisher(producer, topics.images(), s.validationPercent(), 0);
                long sent = publishTest(publisher);
                awaitFeaturized(worker, 0, sent, "test images: featurizing");
                try (IdxSource train = IdxSource.fashionMnist(s.idxDir(), "train", 0, Integer.MAX_VALUE)) {
                    for (int phase = 1; phase <= s.phases(); phase++) {
                        PhaseIterator it = new PhaseIterator(train, publisher, s.trainPerPhase());
                        long before = sent;
                        String name = "phase " + phase + "/" + s.phases();
                        try (Progress bar = Progress.bar(out, name + ": publishing", expectedPhaseImages(), "img")) {
                            sent += publisher.publish(s.task(), it, -1, p -> bar.update(p.acknowledged())).sent();
                        }
                        awaitFeaturized(worker, before, sent, name + ": featurizing");
                        ModelUpdateEvent v = awaitVersion(published, name + ": training");
                        if (v == null) {
                            throw new IllegalStateException("no classifier version within " + s.phaseTimeout() + " after phase " + phase);
                        }
                        VersionRow row = evaluate(registry, v, trainer);
                        rows.add(row);
                        out.printf("version %d: trained on %d images, validation accuracy %.4f, test accuracy %.4f%n",
                                row.version(), row.trainImages(), row.validationAccuracy(), row.testAccuracy());
                    }
                }
                double featSeconds = (System.nanoTime() - featStart) / 1e9;
                Integer adopted = null;
                if (fineTune != null) {
                    fineTuned = DemoFineTune.run(fineTune, s, topics, kafka, registry, out);
                    // the head trainer adopts the fine-tuned base's head as a version of its own
                    long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
                    for (ModelUpdateEvent e; adopted == null && System.nanoTime() < until; ) {
                        e = published.poll(1, TimeUnit.SECONDS);
                        if (e != null && e.base() != null && fineTuned.baseId().equals(e.base().id())) adopted = e.version();
                    }
                    out.println(adopted == null ? "the head trainer did not adopt the fine-tuned base within 2 minutes"
                            : "the head trainer adopted the fine-tuned base as version " + adopted);
                }
                out.println();
                out.println(table(rows));
                if (fineTuned != null) {
                    DemoFineTune.Result f = fineTuned;
                    out.println(String.format(java.util.Locale.ROOT, "%-8s %12d %10s %14.4f %14.4f   fine-tuned from %s (base %s), %.1f images/s, %.0f s",
                            (adopted == null ? "" : adopted + "=") + "b" + f.baseVersion(), f.trainImages(), "", f.validationAccuracy(), f.testAccuracy(),
                            f.freezePoint(), f.baseId(), f.imagesPerSecond(), f.seconds()));
                }
                classified = classifySome(registry);
                taskLog = List.copyOf(registry.events(s.task()));
                worker.close();
                trainer.close();
                join(workerThread);
                join(trainerThread);
                return new Result(base.ref().id(), rows, classified, worker.featurizedCount() / featSeconds,
                        worker.featurizedCount(), (System.nanoTime() - t0) / 1e9);
            } finally {
                worker.close();
                trainer.close();
                if (servingWatcher != null) {
                    servingWatcher.close();
                }
            }
        }
    }

    private long publishTest(ImagePublisher publisher) throws IOException {
        try (IdxSource test = IdxSource.fashionMnist(s.idxDir(), "test", 0, s.testImages());
             Progress bar = Progress.bar(out, "test images: publishing", test.expectedCount(), "img")) {
            return publisher.publish(s.task(), test, p -> bar.update(p.acknowledged())).sent();
        }
    }

    /** Train images of a phase plus the validation share riding along (an estimate, for the progress bar). */
    private long expectedPhaseImages() {
        return Math.round(s.trainPerPhase() / (1 - s.validationPercent() / 100.0));
    }

    private void awaitFeaturized(FeatureWorker worker, long from, long sent, String label) throws InterruptedException {
        long deadline = System.nanoTime() + s.phaseTimeout().toNanos();
        try (Progress bar = Progress.bar(out, label, sent - from, "img")) {
            awaitFeaturized(worker, from, sent, bar, deadline);
        }
    }

    private void awaitFeaturized(FeatureWorker worker, long from, long sent, Progress bar, long deadline)
            throws InterruptedException {
        while (true) {
            long done = worker.featurizedCount() + worker.deadLetterCount();
            bar.update(done - from);
            if (done >= sent) {
                break;
            }
            requireHealthy();
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("feature worker did not keep up: " + worker.featurizedCount() + " of " + sent
                        + " images featurized within " + s.phaseTimeout());
            }
            Thread.sleep(200);
        }
    }

    /** The next version, or null after the phase timeout; fails at once if a role's thread died. */
    private ModelUpdateEvent awaitVersion(BlockingQueue<ModelUpdateEvent> published, String label) throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + s.phaseTimeout().toNanos();
        out.println(label + " ...");
        while (System.nanoTime() < deadline) {
            ModelUpdateEvent v = published.poll(1, TimeUnit.SECONDS);
            if (v != null) {
                out.printf("%s: version %d published after %s%n", label, v.version(),
                        Progress.format(Duration.ofNanos(System.nanoTime() - start)));
                return v;
            }
            requireHealthy();
        }
        return null;
    }

    private void requireHealthy() {
        if (!healthy()) {
            throw new IllegalStateException((workerThread.isAlive() ? "the head trainer" : "the feature worker")
                    + " stopped with an error (see the log above)");
        }
    }

    private VersionRow evaluate(ModelRegistry registry, ModelUpdateEvent v, HeadTrainerService trainer) {
        TrainedHead head = TrainedHead.fromBytes(registry.fetch(v.artifact()));
        Evaluator.Result test = Evaluator.evaluate(head, trainer.store().test());
        return new VersionRow(v.version(), v.metrics().trainCount(), v.metrics().validationCount(),
                v.metrics().validationAccuracy(), test.accuracy());
    }

    /**
     * Classifies a few test images with the task's {@code serving} version (not merely the newest: a version the
     * promotion gate held back must not answer), through {@link ServingClient} exactly as a remote consumer would.
     */
    private List<String> classifySome(ModelRegistry registry) throws IOException, InterruptedException {
        List<String> lines = new ArrayList<>();
        List<byte[]> images = new ArrayList<>();
        List<String> truth = new ArrayList<>();
        try (IdxSource test = IdxSource.fashionMnist(s.idxDir(), "test", 0, 8)) {
            while (test.hasNext()) {
                LabelledImage img = test.next();
                images.add(img.bytes());
                truth.add(img.label());
            }
        }
        try (ServingClient<Classifier> client = ServingClient.start(registry, s.task(), ServingClient.Target.serving(),
                (v, artifact) -> Classifier.fromArtifact(v, artifact,
                        new dev.graft.common.base.BaseResolver(registry, dev.graft.common.base.BaseResolver.defaultBasesDir(), s.modelCache())))) {
            if (!client.awaitReady(Duration.ofMinutes(2))) {
                throw new IllegalStateException("the serving version of " + s.task() + " did not load within 2 minutes"
                        + client.lastFailure().map(e -> ": " + e.getMessage()).orElse(""));
            }
            List<Classifier.Prediction> preds = client.call((v, c) -> c.classify(images));
            out.printf("%nclassifying %d test images with version %d (serving):%n", images.size(), preds.get(0).version());
            for (int i = 0; i < preds.size(); i++) {
                Classifier.Scored top = preds.get(i).top();
                String line = String.format(java.util.Locale.ROOT, "  true %-12s predicted %-12s p=%.3f %s", truth.get(i),
                        top.label(), top.probability(), truth.get(i).equals(top.label()) ? "ok" : "WRONG");
                out.println(line);
                lines.add(line.strip());
            }
        }
        return lines;
    }

    static String table(List<VersionRow> rows) {
        StringBuilder sb = new StringBuilder(String.format(java.util.Locale.ROOT, "%-8s %12s %10s %14s %14s%n",
                "version", "train imgs", "val imgs", "val accuracy", "test accuracy"));
        for (VersionRow r : rows) {
            sb.append(String.format(java.util.Locale.ROOT, "%-8d %12d %10d %14.4f %14.4f%n", r.version(), r.trainImages(),
                    r.validationImages(), r.validationAccuracy(), r.testAccuracy()));
        }
        return sb.toString().stripTrailing();
    }

    static void requireIdx(Path dir) {
        for (String f : List.of("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                "t10k-labels-idx1-ubyte.gz")) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                throw new IllegalArgumentException("Fashion-MNIST file " + dir.resolve(f) + " not found: install the data with "
                        + "'apt-get install dataset-fashion-mnist' (puts it in " + IdxSource.FASHION_MNIST_DIR
                        + "), or pass --idx DIR with the four *-ubyte.gz files");
            }
        }
    }

    private static Thread start(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void join(Thread t) throws InterruptedException {
        t.join(TimeUnit.SECONDS.toMillis(30));
    }

    /** Takes images from the train file until {@code trainTarget} train-split images were taken (validation ones ride along). */
    private static final class PhaseIterator implements Iterator<LabelledImage> {
        private final Iterator<LabelledImage> source;
        private final ImagePublisher publisher;
        private final int trainTarget;
        private int trainTaken;

        PhaseIterator(Iterator<LabelledImage> source, ImagePublisher publisher, int trainTarget) {
            this.source = source;
            this.publisher = publisher;
            this.trainTarget = trainTarget;
        }

        @Override
        public boolean hasNext() {
            return trainTaken < trainTarget && source.hasNext();
        }

        @Override
        public LabelledImage next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            LabelledImage img = source.next();
            if (publisher.splitOf(img) == Split.TRAIN) {
                trainTaken++;
            }
            return img;
        }
    }

    static Map<String, Object> toJson(Result r, Settings s) {
        List<Map<String, Object>> versions = new ArrayList<>();
        for (VersionRow v : r.versions()) {
            versions.add(Map.of("version", v.version(), "train_images", v.trainImages(), "validation_images", v.validationImages(),
                    "validation_accuracy", v.validationAccuracy(), "test_accuracy", v.testAccuracy()));
        }
        return Map.of("versions", versions, "base_id", r.baseId(), "base", s.baseSpec(), "cut", s.cut(),
                "input_size", s.inputSize(), "test_images", s.testImages(), "feature_images_per_s", r.featureImagesPerSecond(),
                "images_featurized", r.imagesFeaturized(), "elapsed_s", r.elapsedSeconds());
    }
}
