package dev.graft.app;

import dev.graft.common.base.BaseResolver;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.finetune.FineTuneWorker;
import dev.graft.finetune.FineTuner;
import dev.graft.finetune.FineTuneWorkerOptions;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "fine-tune-worker", mixinStandardHelpOptions = true,
        description = "Fine-tune upper base layers on retrain requests and publish new base versions (base-published), exactly once per request. Stops on SIGTERM/Ctrl-C.")
final class FineTuneWorkerCommand implements Callable<Integer> {

    @Mixin
    KafkaOptions kafka;

    @Mixin
    ConfigOption config;

    @Mixin
    MetricsOptions metrics;

    @Option(names = "--group", defaultValue = FineTuneWorkerOptions.DEFAULT_GROUP,
            description = "Consumer group on the retrain-requests topic (default: ${DEFAULT-VALUE}).")
    String group;

    @Option(names = "--worker-id", description = "Stable id of this worker; a restarted worker with the same id aborts its predecessor's open transaction at once (default: random).")
    String workerId;

    @Option(names = "--model-cache", paramLabel = "DIR",
            description = "Where pretrained networks are cached (default: $GRAFT_HOME/models or ~/.graft/models).")
    Path modelCache;

    @Override
    public Integer call() throws java.io.IOException {
        KafkaSettings connected = kafka.connect();
        MetricsServer server = metrics.start("fine-tune-worker");
        KafkaSettings settings = server == null ? connected : KafkaMetricsBridge.install(connected, server.registry());
        FineTuneWorkerOptions options = FineTuneWorkerOptions.defaults(kafka.topics(),
                        workerId != null ? workerId : "ftw-" + UUID.randomUUID().toString().substring(0, 8),
                        BaseResolver.defaultBasesDir(), modelCache != null ? modelCache : GraftHome.dir().resolve("models"))
                .withGroupId(group);
        FineTuneWorker worker = FineTuneWorker.create(options, settings);
        worker.onEvents(new FineTuneWorker.Listener() {
            @Override
            public void published(ModelUpdateEvent e, FineTuner.Stats s) {
                System.out.printf("base version %d of %s published: %s, validation accuracy %.4f (%d images), %.1f train images/s%n",
                        e.version(), e.task(), e.base().id(), e.metrics().validationAccuracy(),
                        e.metrics().validationCount(), s.imagesPerSecond());
            }

            @Override
            public void rejected(ModelUpdateEvent e) {
                System.out.printf("retrain request of %s rejected: %s%n", e.task(), e.reason());
            }
        });
        Runtime.getRuntime().addShutdownHook(new Thread(worker::close, "graft-fine-tune-worker-shutdown"));
        System.err.printf("graft fine-tune-worker %s: group %s, requests from %s%n", options.workerId(),
                options.groupId(), options.topics().retrainRequests());
        try (server) {
            MetricsServer.runHealthy(server, worker::run);
        }
        return 0;
    }
}
