package dev.graft.app;

import dev.graft.common.base.BaseNetworks;
import dev.graft.common.json.Json;
import dev.graft.producer.IdxSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the whole pipeline in one JVM on an embedded Kafka broker: stream Fashion-MNIST in phases, "
                + "publish a classifier version per phase, print their accuracy, classify a few test images.")
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--idx", paramLabel = "DIR", description = "Fashion-MNIST IDX directory (default: ${DEFAULT-VALUE}).")
    Path idx = IdxSource.FASHION_MNIST_DIR;

    @Option(names = "--task", defaultValue = "fashion-mnist", description = "Task name (default: ${DEFAULT-VALUE}).")
    String task;

    @Option(names = "--base", defaultValue = BaseOptions.DEFAULT_SPEC, description = "Pretrained base (default: ${DEFAULT-VALUE}).")
    String base;

    @Option(names = "--cut", defaultValue = DEMO_CUT, description = "Layer to cut at (default: ${DEFAULT-VALUE}; see README for why not the top bottleneck).")
    String cut;

    @Option(names = "--input-size", defaultValue = "96", description = "Input resolution (default: ${DEFAULT-VALUE}).")
    int inputSize;

    @Option(names = "--phases", defaultValue = "3", description = "Phases of streamed data; each ends with a new version (default: ${DEFAULT-VALUE}).")
    int phases;

    @Option(names = "--train-per-phase", defaultValue = "1000", description = "Labelled train images per phase (validation images come on top) (default: ${DEFAULT-VALUE}).")
    int trainPerPhase;

    @Option(names = "--test-images", defaultValue = "1000", description = "Test images (from the t10k file) to measure test accuracy on (default: ${DEFAULT-VALUE}).")
    int testImages;

    @Option(names = "--validation-percent", defaultValue = "10", description = "Share of images assigned to validation (default: ${DEFAULT-VALUE}).")
    double validationPercent;

    @Option(names = "--batch-size", defaultValue = "16", description = "Feature worker batch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--model-cache", paramLabel = "DIR", description = "Where pretrained networks are cached (default: $GRAFT_HOME/models).")
    Path modelCache;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
    Path json;

    @Option(names = "--report", paramLabel = "DIR", defaultValue = "graft-report",
            description = "Directory for the HTML report (learning curve, confusion matrix) (default: ${DEFAULT-VALUE}).")
    Path report;

    @Option(names = "--fine-tune", description = "After the head phases, fine-tune the base: a retrain request, a fine-tune worker in-process, the fine-tuned version's accuracy in the table.")
    boolean fineTune;

    @Option(names = "--fine-tune-from", defaultValue = "last 1 block", description = "With --fine-tune: first layer to train or 'last N blocks' (default: ${DEFAULT-VALUE}).")
    String fineTuneFrom;

    @Option(names = "--fine-tune-epochs", defaultValue = "1", description = "With --fine-tune: epochs (default: ${DEFAULT-VALUE}).")
    int fineTuneEpochs;

    @CommandLine.Mixin
    MetricsOptions metrics;

    @CommandLine.Mixin
    ConfigOption config;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    static final String DEMO_CUT = "block_12_add";

    @Override
    public Integer call() throws Exception {
        if (phases < 1 || trainPerPhase < 10 || testImages < 1 || batchSize < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "need --phases >= 1, --train-per-phase >= 10, --test-images >= 1, --batch-size >= 1");
        }
        Demo.Settings settings = new Demo.Settings(idx, task, base, cut, inputSize, phases, trainPerPhase, testImages,
                validationPercent, batchSize, modelCache != null ? modelCache : BaseNetworks.defaultCacheDir(),
                Duration.ofMinutes(15));
        Demo demo = new Demo(settings, System.out);
        if (fineTune) {
            if (fineTuneEpochs < 1) {
                throw new CommandLine.ParameterException(spec.commandLine(), "need --fine-tune-epochs >= 1");
            }
            demo.withFineTune(new DemoFineTune.Settings(fineTuneFrom, fineTuneEpochs, 1e-4, 16, "flip"));
        }
        Demo.Result result;
        try (MetricsServer server = metrics.start("demo")) {
            if (server != null) {
                demo.withMetrics(server.registry());
                server.health(demo::healthy);
            }
            result = demo.run();
        }
        System.out.printf("%nfeaturized %d images at %.1f images/s; demo took %.0f s%n", result.imagesFeaturized(),
                result.featureImagesPerSecond(), result.elapsedSeconds());
        java.util.Map<Integer, Double> test = new java.util.HashMap<>();
        result.versions().forEach(v -> test.put(v.version(), v.testAccuracy()));
        System.out.println("wrote " + HtmlReport.write(report, task, demo.events(), test));
        if (json != null) {
            Path tmp = Files.createTempFile(json.toAbsolutePath().getParent(), ".graft-demo", ".json");
            java.util.Map<String, Object> out = new java.util.LinkedHashMap<>(Demo.toJson(result, settings));
            demo.fineTuned().ifPresent(f -> out.put("fine_tuned", java.util.Map.of("base_version", f.baseVersion(),
                    "base_id", f.baseId(), "freeze_point", f.freezePoint(), "validation_accuracy", f.validationAccuracy(),
                    "test_accuracy", f.testAccuracy(), "train_images", f.trainImages(),
                    "train_images_per_s", f.imagesPerSecond(), "seconds", f.seconds())));
            Files.writeString(tmp, Json.toPrettyString(out));
            Files.move(tmp, json, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            System.out.println("wrote " + json);
        }
        return 0;
    }
}
