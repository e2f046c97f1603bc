package dev.graft.app;

import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.model.ModelRegistry;
import dev.graft.common.serving.ServingClient;
import dev.graft.headtrainer.Classifier;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "classify", mixinStandardHelpOptions = true,
        description = "Classify image files with the serving (or a given) version of a task: top-k labels with probabilities, and the version used.")
final class ClassifyCommand implements Callable<Integer> {

    @Mixin
    KafkaOptions kafka;

    @Mixin
    ConfigOption config;

    @Option(names = "--task", required = true, description = "Task whose classifier to use.")
    String task;

    @Option(names = "--version", description = "Version to use (default: the serving version, or the newest if none serves).")
    Integer version;

    @Option(names = "--top-k", defaultValue = "3", description = "How many labels to print per image (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--model-cache", paramLabel = "DIR", description = "Where pretrained networks are cached (default: $GRAFT_HOME/models).")
    Path modelCache;

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "Image files (PNG, JPEG, ...).")
    List<Path> files;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (topK < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--top-k must be >= 1, got " + topK);
        }
        List<byte[]> images = new ArrayList<>();
        for (Path f : files) {
            if (!Files.isRegularFile(f)) {
                throw new NoSuchFileException(f.toString(), null, "no such file");
            }
            images.add(Files.readAllBytes(f));
        }
        KafkaSettings settings = kafka.connect();
        ModelRegistry registry = new ModelRegistry(kafka.topics(), () -> settings.consumer(null));
        ModelRegistry.TaskState state = registry.state(task);
        ServingClient.Target target;
        if (version != null) {
            state.version(version).orElseThrow(() -> new IllegalStateException("task '" + task + "' has no version " + version));
            target = ServingClient.Target.pinned(version);
        } else if (state.aliases().serving().isPresent()) {
            target = ServingClient.Target.serving();
        } else {
            // versions published before aliases existed: the newest
            target = ServingClient.Target.pinned(state.versions().stream().mapToInt(ModelUpdateEvent::version).max()
                    .orElseThrow(() -> new IllegalStateException("task '" + task + "' has no published version yet")));
        }
        Path cache = modelCache != null ? modelCache : dev.graft.common.base.BaseNetworks.defaultCacheDir();
        try (ServingClient<Classifier> client = ServingClient.start(registry, task, target,
                (v, artifact) -> Classifier.fromArtifact(v, artifact,
                        new dev.graft.common.base.BaseResolver(registry, dev.graft.common.base.BaseResolver.defaultBasesDir(), cache)))) {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
            while (!client.awaitReady(Duration.ofMillis(500))) {
                if (client.lastFailure().isPresent()) {
                    Exception e = client.lastFailure().get();
                    throw new IllegalStateException("cannot load " + task + " (" + target + "): " + e.getMessage(), e);
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("no version of " + task + " (" + target + ") loaded within 10 minutes");
                }
            }
            List<Classifier.Prediction> preds = client.call((v, classifier) -> classifier.classify(images));
            for (int i = 0; i < files.size(); i++) {
                Classifier.Prediction p = preds.get(i);
                StringBuilder sb = new StringBuilder(files.get(i).toString()).append(": ");
                for (int k = 0; k < Math.min(topK, p.ranked().size()); k++) {
                    Classifier.Scored s = p.ranked().get(k);
                    sb.append(k == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%s %.3f", s.label(), s.probability()));
                }
                sb.append("  (").append(task).append(" v").append(p.version()).append(')');
                System.out.println(sb);
            }
        }
        return 0;
    }
}
