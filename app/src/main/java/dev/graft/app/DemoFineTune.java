package dev.graft.app;

import dev.graft.common.base.BaseArtifact;
import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseResolver;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.RetrainRequest;
import dev.graft.common.contract.Topics;
import dev.graft.common.image.ImageDecoder;
import dev.graft.common.image.Resizer;
import dev.graft.common.json.Json;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.model.ModelRegistry;
import dev.graft.common.progress.Progress;
import dev.graft.finetune.FineTuneWorker;
import dev.graft.finetune.FineTuneWorkerOptions;
import dev.graft.headtrainer.Evaluator;
import dev.graft.headtrainer.TrainedHead;
import dev.graft.producer.IdxSource;
import dev.graft.producer.LabelledImage;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The demo's fine-tune phase: a retrain request for the task, a fine-tune worker in-process, the new base version
 * awaited on the model-updates topic, then its test accuracy measured the way any consumer would: the base resolved
 * by its {@code graft-base:} spec, the fine-tuned head from the artifact, test images decoded again.
 */
final class DemoFineTune {

    /** What the fine-tune phase asks for. */
    record Settings(String unfreezeFrom, int epochs, double learningRate, int batchSize, String augmentation) {}

    /** @param baseVersion the published base version; testAccuracy on the demo's test images */
    record Result(int baseVersion, String baseId, String freezePoint, double validationAccuracy, double testAccuracy,
                  int trainImages, double imagesPerSecond, double seconds) {}

    private DemoFineTune() {}

    static Result run(Settings f, Demo.Settings s, Topics topics, KafkaSettings kafka, ModelRegistry registry,
                      PrintStream out) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        Path bases = Files.createTempDirectory("graft-demo-bases");
        FineTuneWorker worker = FineTuneWorker.create(
                FineTuneWorkerOptions.defaults(topics, "demo-ft", bases, s.modelCache()), kafka);
        Progress[] bar = new Progress[1];
        worker.onEvents(new FineTuneWorker.Listener() {
            @Override
            public void progress(String task, int epoch, int done, int total, double loss, double ips) {
                if (bar[0] == null) bar[0] = Progress.bar(out, "fine-tune: training", (long) total * f.epochs(), "img");
                bar[0].update((long) (epoch - 1) * total + done);
            }
        });
        Thread t = new Thread(worker, "fine-tune-worker");
        t.setDaemon(true);
        t.start();
        try {
            RetrainRequest q = new RetrainRequest(UUID.randomUUID().toString(), s.task(), f.unfreezeFrom(), f.epochs(),
                    f.learningRate(), f.batchSize(), f.augmentation(), "demo: after the head phases", Instant.now());
            try (KafkaProducer<byte[], byte[]> p = kafka.producer()) {
                p.send(new ProducerRecord<>(topics.retrainRequests(), s.task().getBytes(StandardCharsets.UTF_8),
                        Json.toBytes(q))).get();
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException("cannot publish the retrain request: " + e.getCause(), e.getCause());
            }
            out.printf("%nretrain request %s: fine-tune %s from '%s', %d epoch(s), lr %s%n", q.requestId(), s.task(),
                    f.unfreezeFrom(), f.epochs(), f.learningRate());
            ModelUpdateEvent e = await(registry, s.task(), q.requestId(), s.phaseTimeout(), t);
            if (bar[0] != null) bar[0].close();
            if (e.rejectsRetrain()) throw new IllegalStateException("retrain request rejected: " + e.reason());
            BaseResolver resolver = new BaseResolver(registry, bases, s.modelCache());
            double test;
            try (BaseNetwork base = resolver.load(e.base().spec(), null, 0)) {
                BaseArtifact a = resolver.artifact(dev.graft.common.base.BaseSpec.parse(e.base().spec()));
                test = testAccuracy(base, TrainedHead.fromBytes(a.headZip()), s);
            }
            Object ips = e.lineage().hyperParameters().get("trainImagesPerSecond");
            return new Result(e.version(), e.base().id(), String.valueOf(e.lineage().hyperParameters().get("freezePoint")),
                    e.metrics().validationAccuracy(), test, e.metrics().trainCount(),
                    ips instanceof Number n ? n.doubleValue() : Double.NaN, (System.nanoTime() - t0) / 1e9);
        } finally {
            worker.close();
            t.join(30_000);
        }
    }

    private static ModelUpdateEvent await(ModelRegistry registry, String task, String requestId, Duration timeout,
                                          Thread worker) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<ModelUpdateEvent> e = registry.events(task).stream()
                    .filter(x -> x.publishesBase() || x.rejectsRetrain())
                    .filter(x -> x.lineage() != null && requestId.equals(x.lineage().hyperParameters().get("requestId")))
                    .findFirst();
            if (e.isPresent()) return e.get();
            if (!worker.isAlive()) throw new IllegalStateException("the fine-tune worker stopped with an error (see the log above)");
            Thread.sleep(2000);
        }
        throw new IllegalStateException("no fine-tuned base within " + timeout);
    }

    private static double testAccuracy(BaseNetwork base, TrainedHead head, Demo.Settings s) throws IOException {
        ImageDecoder decoder = new ImageDecoder();
        int size = base.ref().inputSize();
        List<INDArray> feats = new ArrayList<>();
        List<Integer> ys = new ArrayList<>();
        List<LabelledImage> batch = new ArrayList<>();
        try (IdxSource test = IdxSource.fashionMnist(s.idxDir(), "test", 0, s.testImages())) {
            while (test.hasNext()) {
                batch.add(test.next());
                if (batch.size() == 32 || !test.hasNext()) {
                    float[] buf = new float[batch.size() * Resizer.floatsPerImage(size)];
                    for (int i = 0; i < batch.size(); i++) {
                        Resizer.resizeInto(decoder.decode(batch.get(i).bytes()), size, buf, i * Resizer.floatsPerImage(size));
                        ys.add(head.labels().indexOf(batch.get(i).label()));
                    }
                    feats.add(base.extract(Nd4j.create(buf, new long[] {batch.size(), size, size, 3}, 'c')));
                    batch.clear();
                }
            }
        }
        int[] y = ys.stream().mapToInt(Integer::intValue).toArray();
        if (java.util.Arrays.stream(y).anyMatch(v -> v < 0)) {
            throw new IllegalStateException("test labels outside the head's labels " + head.labels());
        }
        return Evaluator.evaluate(head, Nd4j.vstack(feats.toArray(INDArray[]::new)), y, head.labels()).accuracy();
    }
}
