package dev.graft.app;

import dev.graft.common.kafka.KafkaSettings;
import dev.graft.headtrainer.predict.PredictWorker;
import dev.graft.headtrainer.predict.PredictWorkerOptions;
import java.time.Clock;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "predict-worker", mixinStandardHelpOptions = true,
        description = {"Predict the task's unlabelled images with its serving version, exactly once: reads the features "
                + "topic, writes one prediction per image to the predictions topic (JSON: imageId, task, version, label, "
                + "probabilities, baseId, createdAt). Follows promote and rollback. Rows of another base than the serving "
                + "version's are skipped. Stops on SIGTERM/Ctrl-C."})
final class PredictWorkerCommand implements Callable<Integer> {

    @Mixin
    KafkaOptions kafka;

    @Mixin
    ConfigOption config;

    @Mixin
    MetricsOptions metrics;

    @Option(names = "--task", required = true, description = "Task whose serving version predicts.")
    String task;

    @Option(names = "--all", description = "Predict every feature row of the task, labelled ones too (default: unlabelled rows only).")
    boolean all;

    @Option(names = "--worker-id", defaultValue = "0",
            description = "Stable id of this worker; a restarted worker with the same id fences its predecessor (default: ${DEFAULT-VALUE}).")
    String workerId;

    @Option(names = "--group", description = "Consumer group (default: graft-predict-<task>).")
    String group;

    @Override
    public Integer call() throws java.io.IOException {
        PredictWorkerOptions defaults = PredictWorkerOptions.defaults(kafka.topics(), task, workerId).withAllRows(all);
        PredictWorkerOptions options = group == null ? defaults : new PredictWorkerOptions(defaults.topics(), task, workerId,
                all, group, defaults.retryBackoff(), defaults.shutdownTimeout());
        KafkaSettings connected = kafka.connect();
        MetricsServer server = metrics.start("predict-worker");
        KafkaSettings settings = server == null ? connected : KafkaMetricsBridge.install(connected, server.registry());
        PredictWorker worker = new PredictWorker(options, settings, Clock.systemUTC());
        Runtime.getRuntime().addShutdownHook(new Thread(worker::close, "graft-predict-worker-shutdown"));
        System.err.printf("graft predict-worker %s: task %s, %s rows, group %s, predictions to %s%n", workerId, task,
                all ? "all" : "unlabelled", options.groupId(), options.topics().predictions());
        try (server) {
            if (server != null) {
                GraftMetrics.bindPredictWorker(server.registry(), worker, task);
            }
            MetricsServer.runHealthy(server, worker::run);
        }
        return 0;
    }
}
