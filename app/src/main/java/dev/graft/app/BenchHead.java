package dev.graft.app;

import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.FeatureBatchCodec;
import dev.graft.common.contract.FeatureHeaders;
import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Split;
import dev.graft.common.contract.Topics;
import dev.graft.common.json.Json;
import dev.graft.common.kafka.EmbeddedKafkaBroker;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.TopicAdmin;
import dev.graft.common.model.ModelRegistry;
import dev.graft.common.progress.Progress;
import dev.graft.common.serving.HeadArtifact;
import dev.graft.common.serving.ServingClient;
import dev.graft.headtrainer.HeadConfig;
import dev.graft.headtrainer.HeadTrainer;
import dev.graft.headtrainer.HeadTrainerOptions;
import dev.graft.headtrainer.HeadTrainerService;
import dev.graft.headtrainer.TrainedHead;
import dev.graft.headtrainer.TrainingPolicy;
import dev.graft.headtrainer.VectorStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `graft bench head`: head-trainer epoch time and freshness. */
final class BenchHead {
    private BenchHead() {}

    @Command(name = "head", mixinStandardHelpOptions = true,
            description = {"Head trainer: time per epoch on cached vectors, and freshness: seconds from the last "
                    + "labelled vector of a batch published on the features topic to the version trained on it serving "
                    + "(seen by a ServingClient), on an embedded broker. Synthetic vectors (ReLU'd Gaussian blobs); "
                    + "the image network is not part of it. Promotion margin 1 (every version serves)."})
    static final class Head implements Callable<Integer> {
        @Option(names = "--vectors", defaultValue = "6000", description = "Train vectors for the epoch timing (default: ${DEFAULT-VALUE}).")
        int vectors;

        @Option(names = "--dim", defaultValue = "96", description = "Vector dimension (default: ${DEFAULT-VALUE}, block_12_add; the bottleneck is 1280).")
        int dim;

        @Option(names = "--classes", defaultValue = "10", description = "Classes (default: ${DEFAULT-VALUE}).")
        int classes;

        @Option(names = "--epochs", defaultValue = "5", description = "Epochs timed (default: ${DEFAULT-VALUE}).")
        int epochs;

        @Option(names = "--batch", defaultValue = "500", description = "Labelled vectors per freshness round (default: ${DEFAULT-VALUE}).")
        int batch;

        @Option(names = "--rounds", defaultValue = "3", description = "Freshness rounds (default: ${DEFAULT-VALUE}).")
        int rounds;

        @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
        Path json;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            if (vectors < classes || dim < 1 || classes < 2 || epochs < 1 || batch < classes || rounds < 1) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "need --vectors >= --classes >= 2, --dim, --epochs, --rounds >= 1, --batch >= --classes");
            }
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("vectors", vectors);
            result.put("dim", dim);
            result.put("classes", classes);
            HeadConfig config = HeadConfig.defaults().withEpochs(epochs);
            result.put("head", config.architecture());

            // 1. Epoch time on cached vectors.
            Random r = new Random(1);
            VectorStore store = new VectorStore("bench", "synthetic-" + dim, dim);
            for (int i = 0; i < vectors; i++) {
                store.add("v" + i, "c" + (i % classes), Split.TRAIN, vector(r, i % classes));
            }
            new HeadTrainer().train(config.withEpochs(1), store, Optional.empty()); // warm-up (JIT, native init)
            TrainedHead head = new HeadTrainer().train(config, store, Optional.empty());
            double msPerEpoch = head.info().millisPerEpoch();
            System.out.printf(Locale.ROOT, "epoch on %d cached %d-d vectors (%s): %.0f ms (%.0f vectors/s)%n",
                    vectors, dim, config.architecture(), msPerEpoch, vectors / (msPerEpoch / 1000));
            result.put("epoch_ms", msPerEpoch);

            // 2. Freshness through Kafka: publish a batch, time until the version trained on it serves.
            Topics topics = Topics.defaults();
            List<Double> freshness = new ArrayList<>();
            try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().build().start()) {
                KafkaSettings kafka = KafkaSettings.of(broker.bootstrapServers());
                try (Admin admin = kafka.admin()) {
                    TopicAdmin.ensureTopics(admin, topics, 1);
                }
                HeadTrainerService trainer = new HeadTrainerService(HeadTrainerOptions.defaults(topics, "bench")
                        .withHead(config).withPromotionMargin(1.0)
                        .withPolicy(new TrainingPolicy.Settings(batch, Duration.ofHours(1), 2, classes)),
                        kafka, Clock.systemUTC());
                Thread t = new Thread(trainer, "bench-head-trainer");
                t.start();
                ModelRegistry registry = new ModelRegistry(topics, () -> kafka.consumer(null));
                BlockingQueue<ModelUpdateEvent> serving = new LinkedBlockingQueue<>();
                BaseRef base = new BaseRef("synthetic-" + dim, "synthetic", "none", 0, dim, "none");
                try (ServingClient<HeadArtifact> client = ServingClient.heads(registry, "bench", ServingClient.Target.serving());
                     KafkaProducer<byte[], byte[]> producer = kafka.producer();
                     FeatureBatchCodec codec = new FeatureBatchCodec();
                     Progress bar = Progress.bar(System.err, "freshness rounds", rounds, "rounds")) {
                    client.onSwitch((before, after) -> serving.add(after));
                    List<FeatureRow> validation = new ArrayList<>();
                    for (int i = 0; i < batch / 5; i++) {
                        validation.add(new FeatureRow("val-" + i, "bench", "c" + (i % classes), Split.VALIDATION, base.id(),
                                vector(r, i % classes), "bench"));
                    }
                    send(producer, codec, topics, base, validation);
                    for (int round = 1; round <= rounds; round++) {
                        List<FeatureRow> rows = new ArrayList<>();
                        for (int i = 0; i < batch; i++) {
                            rows.add(new FeatureRow("r" + round + "-" + i, "bench", "c" + (i % classes), Split.TRAIN,
                                    base.id(), vector(r, i % classes), "bench"));
                        }
                        send(producer, codec, topics, base, rows);
                        long t0 = System.nanoTime();
                        ModelUpdateEvent v = serving.poll(10, TimeUnit.MINUTES);
                        if (v == null) {
                            throw new IllegalStateException("no version served within 10 minutes in round " + round);
                        }
                        double s = (System.nanoTime() - t0) / 1e9;
                        freshness.add(s);
                        System.out.printf(Locale.ROOT, "round %d: +%d labelled vectors -> v%d serving after %.2f s (trained on %d)%n",
                                round, batch, v.version(), s, v.metrics().trainCount());
                        bar.update(round);
                    }
                } finally {
                    trainer.close();
                    t.join(30_000);
                }
            }
            result.put("freshness_batch", batch);
            result.put("freshness_s", freshness);
            double median = freshness.stream().sorted().toList().get(freshness.size() / 2);
            result.put("freshness_median_s", median);
            System.out.printf(Locale.ROOT, "freshness (last labelled vector published -> version serving): median %.2f s over %d rounds%n",
                    median, rounds);
            if (json != null) {
                Files.writeString(json, Json.toPrettyString(result));
                System.out.println("wrote " + json);
            }
            return 0;
        }

        private float[] vector(Random r, int c) {
            float[] v = new float[dim];
            int block = Math.max(1, dim / classes);
            for (int j = 0; j < dim; j++) {
                v[j] = (float) Math.max(0, (j / block == c ? 3.0 : 0.5) + r.nextGaussian());
            }
            return v;
        }

        private static void send(KafkaProducer<byte[], byte[]> p, FeatureBatchCodec codec, Topics topics, BaseRef base,
                                 List<FeatureRow> rows) {
            for (int i = 0; i < rows.size(); i += 256) {
                ProducerRecord<byte[], byte[]> rec = new ProducerRecord<>(topics.features(),
                        "bench".getBytes(StandardCharsets.UTF_8), codec.encode(rows.subList(i, Math.min(rows.size(), i + 256))));
                FeatureHeaders.putBaseRef(rec.headers(), base);
                p.send(rec);
            }
            p.flush();
        }
    }
}
