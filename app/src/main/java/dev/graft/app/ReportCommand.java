package dev.graft.app;

import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.model.ModelRegistry;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Write a self-contained HTML report of a task's versions: learning curve and the newest version's confusion matrix.")
final class ReportCommand implements Callable<Integer> {

    @Mixin
    KafkaOptions kafka;

    @Mixin
    ConfigOption config;

    @Option(names = "--task", required = true, description = "Task to report on.")
    String task;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "graft-report",
            description = "Directory to write index.html into (default: ${DEFAULT-VALUE}).")
    Path out;

    @Override
    public Integer call() throws Exception {
        KafkaSettings settings = kafka.connect();
        List<ModelUpdateEvent> events = new ModelRegistry(kafka.topics(), () -> settings.consumer(null)).events(task);
        Path file = HtmlReport.write(out, task, events, Map.of());
        System.out.println("wrote " + file + " (" + events.stream().filter(ModelUpdateEvent::publishesVersion).count()
                + " versions of " + task + ")");
        return 0;
    }
}
