package dev.graft.app;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.contract.BaseRef;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.featureworker.FeatureWorker;
import dev.graft.featureworker.FeatureWorkerOptions;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

@Command(name = "feature-worker", mixinStandardHelpOptions = true,
        description = "Run the frozen base on images from the images topic and publish Arrow batches of feature vectors, exactly once. Stops on SIGTERM/Ctrl-C.")
final class FeatureWorkerCommand implements Callable<Integer> {

    @Mixin
    KafkaOptions kafka;

    @Mixin
    ConfigOption config;

    @Mixin
    BaseOptions base;

    @Mixin
    MetricsOptions metrics;

    @Option(names = "--group", description = "Consumer group (default: graft-features-<base id>, so each base featurizes every image once).")
    String group;

    @Option(names = "--worker-id", description = "Stable id of this worker; a restarted worker with the same id aborts its predecessor's open transaction at once (default: random).")
    String workerId;

    @Option(names = "--cuts", paramLabel = "LAYER,LAYER,...", split = ",",
            description = "Several cut layers featurized in one forward pass; one feature record per cut and batch, "
                    + "each under its own base id (replaces --cut).")
    List<String> cuts;

    @Option(names = "--batch-size", defaultValue = "16", description = "Images per forward pass and per transaction (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Override
    public Integer call() throws java.io.IOException {
        base.validate();
        if (cuts != null && base.cut != null) {
            throw new ParameterException(new CommandLine(this),
                    "--cut and --cuts exclude each other; list every layer in --cuts");
        }
        KafkaSettings connected = kafka.connect();
        MetricsServer server = metrics.start("feature-worker");
        KafkaSettings settings = server == null ? connected : KafkaMetricsBridge.install(connected, server.registry());
        try (BaseNetwork network = cuts == null ? base.load() : base.load(cuts)) {
            FeatureWorkerOptions options = FeatureWorkerOptions.defaults(kafka.topics(),
                            group != null ? group : defaultGroup(network),
                            workerId != null ? workerId : "fw-" + UUID.randomUUID().toString().substring(0, 8))
                    .withBatchSize(batchSize);
            FeatureWorker worker = FeatureWorker.create(options, settings, network);
            java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
            if (server != null) {
                GraftMetrics.bindFeatureWorker(server.registry(), worker, options.workerId());
                server.health(running::get);
            }
            Runtime.getRuntime().addShutdownHook(new Thread(worker::close, "graft-feature-worker-shutdown"));
            for (BaseRef r : network.refs()) {
                System.err.printf("graft feature-worker %s: base %s (%s, cut %s, %dpx, %d-d), group %s%n",
                        options.workerId(), r.id(), r.spec(), r.cut(), r.inputSize(), r.featureDim(), options.groupId());
            }
            try {
                worker.run();
            } finally {
                running.set(false);
            }
        } finally {
            if (server != null) {
                server.close();
            }
        }
        return 0;
    }

    static String defaultGroup(String baseId) {
        return "graft-features-" + baseId;
    }

    /** One group per set of cuts: a worker with other cuts must see every image too. */
    static String defaultGroup(BaseNetwork network) {
        return defaultGroup(String.join("+", network.refs().stream().map(BaseRef::id).toList()));
    }

}
