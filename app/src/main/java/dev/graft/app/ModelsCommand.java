package dev.graft.app;

import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.model.Aliases;
import dev.graft.common.model.ModelRegistry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.Producer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "models", mixinStandardHelpOptions = true,
        description = {"A task's classifier versions and aliases.",
                "  list          versions with accuracy, sizes, base and aliases (latest, serving)",
                "  promote V     make version V the serving one",
                "  rollback      make the previously serving version serve again"})
final class ModelsCommand implements Callable<Integer> {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ModelsCommand.class);

    @Mixin
    KafkaOptions kafka;

    @Mixin
    ConfigOption config;

    @Option(names = "--task", required = true, description = "Task whose versions to show or change.")
    String task;

    @Parameters(index = "0", arity = "0..1", paramLabel = "ACTION", defaultValue = "list",
            description = "list (default), promote or rollback.")
    String action;

    @Parameters(index = "1", arity = "0..1", paramLabel = "V", description = "Version, for promote.")
    Integer version;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        switch (action) {
            case "list", "promote", "rollback" -> { }
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "unknown action '" + action + "' (supported: list, promote V, rollback)");
        }
        if ("promote".equals(action) && version == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "promote needs a version: models --task T promote V");
        }
        if (!"promote".equals(action) && version != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), action + " takes no version");
        }
        KafkaSettings settings = kafka.connect();
        ModelRegistry registry = new ModelRegistry(kafka.topics(), () -> settings.consumer(null));
        ModelRegistry.TaskState state = registry.state(task);
        if ("list".equals(action)) {
            if (state.versions().isEmpty()) {
                System.out.println("task '" + task + "' has no published versions");
                return 0;
            }
            System.out.println(table(state.versions(), state.aliases()));
            return 0;
        }
        int target;
        String reason;
        if ("promote".equals(action)) {
            if (state.version(version).isEmpty()) {
                throw new IllegalStateException("task '" + task + "' has no version " + version);
            }
            target = version;
            reason = ModelUpdateEvent.REASON_MANUAL;
        } else {
            target = state.aliases().rollbackTarget().orElseThrow(() -> new IllegalStateException(
                    "task '" + task + "' has no previous serving version to roll back to (serving history "
                            + state.aliases().servingHistory() + ")"));
            reason = ModelUpdateEvent.REASON_ROLLBACK;
        }
        try (Producer<byte[], byte[]> p = settings.producer()) {
            registry.setAlias(p, task, ModelUpdateEvent.SERVING, target, reason, Instant.now());
        }
        String was = state.aliases().serving().stream().mapToObj(v -> "v" + v).findFirst().orElse("none");
        System.out.println(task + " serving: v" + target + " (" + reason + ", was " + was + ")");
        if (ModelUpdateEvent.REASON_ROLLBACK.equals(reason)) {
            log.info("[GRAFT-ROLLBACK] task {} version {} now serving (rolled back from {})", task, target, was);
        } else {
            log.info("[GRAFT-PROMOTED] task {} version {} now serving (manual; was {})", task, target, was);
        }
        return 0;
    }

    static String table(List<ModelUpdateEvent> versions, Aliases aliases) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-8s %-20s %8s %9s %8s %-8s %-16s %s%n",
                "version", "created", "train", "val acc", "val n", "labels", "aliases", "base"));
        for (ModelUpdateEvent e : versions) {
            List<String> names = new ArrayList<>();
            for (Map.Entry<String, Integer> a : aliases.all().entrySet()) {
                if (a.getValue() == e.version()) {
                    names.add(a.getKey());
                }
            }
            sb.append(String.format(Locale.ROOT, "%-8d %-20s %8d %9.4f %8d %-8d %-16s %s%n", e.version(),
                    e.createdAt().toString().substring(0, 19), e.metrics().trainCount(), e.metrics().validationAccuracy(),
                    e.metrics().validationCount(), e.labels().size(), names.isEmpty() ? "-" : String.join(",", names),
                    e.base().id()));
        }
        return sb.toString().stripTrailing();
    }
}
