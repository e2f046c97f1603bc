package dev.graft.app;

import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.model.ModelRegistry;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "models", mixinStandardHelpOptions = true,
        description = "Show a task's published classifier versions (action: list).")
final class ModelsCommand implements Callable<Integer> {

    @Mixin
    KafkaOptions kafka;

    @Mixin
    ConfigOption config;

    @Option(names = "--task", required = true, description = "Task whose versions to show.")
    String task;

    @Parameters(arity = "0..1", paramLabel = "ACTION", defaultValue = "list", description = "list (default).")
    String action;

    @Override
    public Integer call() {
        if (!"list".equals(action)) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                    "unknown action '" + action + "' (supported: list)");
        }
        KafkaSettings settings = kafka.connect();
        List<ModelUpdateEvent> versions = new ModelRegistry(kafka.topics(), () -> settings.consumer(null)).events(task);
        if (versions.isEmpty()) {
            System.out.println("task '" + task + "' has no published versions");
            return 0;
        }
        System.out.println(table(versions));
        return 0;
    }

    static String table(List<ModelUpdateEvent> versions) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-8s %-20s %8s %9s %8s %-8s %s%n",
                "version", "created", "train", "val acc", "val n", "labels", "base"));
        for (ModelUpdateEvent e : versions) {
            sb.append(String.format(Locale.ROOT, "%-8d %-20s %8d %9.4f %8d %-8d %s%n", e.version(),
                    e.createdAt().toString().substring(0, 19), e.metrics().trainCount(), e.metrics().validationAccuracy(),
                    e.metrics().validationCount(), e.labels().size(), e.base().id()));
        }
        return sb.toString().stripTrailing();
    }
}
