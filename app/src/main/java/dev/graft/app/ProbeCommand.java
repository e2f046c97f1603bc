package dev.graft.app;

import dev.graft.app.probe.LinearProbe;
import dev.graft.app.probe.ProbeReport;
import dev.graft.app.probe.ProbeSample;
import dev.graft.app.probe.Prober;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.base.BaseSpec;
import dev.graft.common.json.Json;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.producer.ClassFolderSource;
import dev.graft.producer.IdxSource;
import dev.graft.producer.ImageSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "probe", mixinStandardHelpOptions = true,
        description = "Choose where to cut: a quick linear probe (logistic regression) over a network's candidate layers "
                + "on a labelled sample, with validation accuracy, width and speed per layer, a raw-pixel baseline and a "
                + "recommendation.")
final class ProbeCommand implements Callable<Integer> {

    @Mixin
    KafkaOptions kafka;

    @Mixin
    ConfigOption config;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--task", description = "Task whose labelled images to read from the images topic (required with "
            + "--from-topic, the default source).")
    String task;

    @ArgGroup(exclusive = true)
    Source source;

    static final class Source {
        @Option(names = "--from-topic", description = "Read the task's labelled train and validation images from the "
                + "images topic (the default).")
        boolean fromTopic;

        @Option(names = "--idx", paramLabel = "DIR", description = "Fashion-MNIST IDX files (the train part) instead of the topic.")
        Path idx;

        @Option(names = "--dir", paramLabel = "DIR", description = "A folder with one sub-folder of jpg/png images per class instead of the topic.")
        Path dir;
    }

    @Option(names = "--base", paramLabel = "SPEC", defaultValue = BaseOptions.DEFAULT_SPEC,
            description = "Pretrained base, as for feature-worker (default: ${DEFAULT-VALUE}).")
    String base;

    @Option(names = "--input-size", paramLabel = "PIXELS", defaultValue = "96",
            description = "Square input resolution (default: ${DEFAULT-VALUE}).")
    int inputSize;

    @Option(names = "--images", paramLabel = "N", defaultValue = "2000",
            description = "Labelled images in the sample (default: ${DEFAULT-VALUE}).")
    int images;

    @Option(names = "--layers", paramLabel = "auto|A,B,...", defaultValue = "auto",
            description = "Layers to probe: auto (block outputs spread over depth, plus the bottleneck) or a list "
                    + "(default: ${DEFAULT-VALUE}).")
    String layers;

    @Option(names = "--validation-percent", defaultValue = "25",
            description = "With --idx or --dir: share of the sample held out for validation, by the stable hash of the "
                    + "image id (default: ${DEFAULT-VALUE}). From the topic the records' split header decides.")
    double validationPercent;

    @Option(names = "--batch-size", defaultValue = "16", description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--timing-images", paramLabel = "N", defaultValue = "32",
            description = "Images timed per layer for the speed column, after a warm-up batch (default: ${DEFAULT-VALUE}).")
    int timingImages;

    @Option(names = "--model-cache", paramLabel = "DIR",
            description = "Where pretrained networks are cached (default: $GRAFT_HOME/models or ~/.graft/models).")
    Path modelCache;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
    Path json;

    @Override
    public Integer call() throws Exception {
        BaseSpec.parse(base);
        if (!(validationPercent > 0 && validationPercent < 100)) {
            throw bad("--validation-percent must be in (0,100), got " + validationPercent);
        }
        if (images < 10) throw bad("--images must be at least 10, got " + images);
        Prober prober;
        try {
            prober = new Prober(new Prober.Options(inputSize, batchSize, timingImages, LinearProbe.Options.defaults()));
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage());
        }
        boolean topic = source == null || source.fromTopic;
        if (topic && (task == null || task.isBlank())) throw bad("--task is required to read the images topic (or give --idx/--dir)");
        ProbeSample sample = topic ? fromTopic() : fromFiles();
        if (sample.images().isEmpty()) {
            throw new IllegalArgumentException("no labelled train/validation images found in " + sample.description());
        }
        System.err.println("sample: " + sample.images().size() + " images (" + sample.trainCount() + " train, "
                + sample.validationCount() + " validation) from " + sample.description());
        BaseNetworks.Source src = BaseNetworks.loadSource(BaseSpec.parse(base),
                modelCache != null ? modelCache : BaseNetworks.defaultCacheDir(), BaseNetworks.defaultZooDir(),
                Boolean.getBoolean("graft.offline"));
        ProbeReport report = prober.run(sample, src, layers, base, System.err);
        System.out.print(report.render());
        if (json != null) {
            Map<String, Object> extra = new LinkedHashMap<>();
            extra.put("task", task);
            extra.put("base", base);
            extra.put("input_size", inputSize);
            extra.put("images", sample.images().size());
            extra.put("source", sample.description());
            Files.writeString(json, Json.toPrettyString(report.toJson(extra)));
            System.out.println("wrote " + json);
        }
        return 0;
    }

    private ProbeSample fromTopic() {
        KafkaSettings settings = kafka.settings();
        settings.requireReachable(Duration.ofSeconds(5));
        return ProbeSample.fromTopic(() -> settings.consumer(null), kafka.topics().images(), task, images,
                Duration.ofSeconds(30));
    }

    private ProbeSample fromFiles() throws Exception {
        try (ImageSource src = source.idx != null ? IdxSource.fashionMnist(source.idx, "train", 0, images)
                : new ClassFolderSource(source.dir)) {
            return ProbeSample.fromSource(src, images, validationPercent);
        }
    }

    private CommandLine.ParameterException bad(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
