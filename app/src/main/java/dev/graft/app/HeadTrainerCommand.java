package dev.graft.app;

import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.model.AliasWatcher;
import dev.graft.common.model.ModelRegistry;
import dev.graft.headtrainer.HeadConfig;
import dev.graft.headtrainer.HeadTrainerOptions;
import dev.graft.headtrainer.HeadTrainerService;
import dev.graft.headtrainer.RetrainTrigger;
import dev.graft.headtrainer.TrainingPolicy;
import java.time.Clock;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "head-trainer", mixinStandardHelpOptions = true,
        description = "Train a classifier head for one task on the cached feature vectors and publish versions. Stops on SIGTERM/Ctrl-C.")
final class HeadTrainerCommand implements Callable<Integer> {

    @Mixin
    KafkaOptions kafka;

    @Mixin
    ConfigOption config;

    @Mixin
    HeadOptions head;

    @Mixin
    MetricsOptions metrics;

    @Option(names = "--task", required = true, description = "Task to train.")
    String task;

    @Option(names = "--base-id", description = "A candidate base: a head is trained on the features of each --base-id given "
            + "(repeat it, e.g. one per cut) and the best by validation accuracy is published (default: every base seen for the task).")
    java.util.List<String> baseIds = new java.util.ArrayList<>();

    @Override
    public Integer call() throws java.io.IOException {
        HeadTrainerOptions options = head.apply(HeadTrainerOptions.defaults(kafka.topics(), task));
        options = options.withBaseIds(baseIds);
        KafkaSettings connected = kafka.connect();
        MetricsServer server = metrics.start("head-trainer");
        KafkaSettings settings = server == null ? connected : KafkaMetricsBridge.install(connected, server.registry());
        HeadTrainerService service = new HeadTrainerService(options, settings, Clock.systemUTC());
        service.onPublished(e -> System.out.printf("version %d of %s published: validation accuracy %.4f (%d images), trained on %d, cut %s%s%n",
                e.version(), e.task(), e.metrics().validationAccuracy(), e.metrics().validationCount(), e.metrics().trainCount(),
                e.base().cut(), e.lineage().candidates() == null ? "" : " (candidates: " + candidateScores(e) + ")"));
        Runtime.getRuntime().addShutdownHook(new Thread(service::close, "graft-head-trainer-shutdown"));
        try (server; AliasWatcher serving = server == null ? null : GraftMetrics.watchServingVersion(server.registry(),
                new ModelRegistry(kafka.topics(), () -> settings.consumer(null)), task)) {
            if (server != null) {
                GraftMetrics.bindHeadTrainer(server.registry(), service, task);
            }
            MetricsServer.runHealthy(server, service::run);
        }
        return 0;
    }

    private static String candidateScores(dev.graft.common.contract.ModelUpdateEvent e) {
        StringBuilder b = new StringBuilder();
        e.lineage().candidates().forEach((id, c) -> b.append(b.isEmpty() ? "" : ", ")
                .append(String.format(java.util.Locale.ROOT, "%s %.4f", c.cut(), c.validationAccuracy())));
        return b.toString();
    }

    /** Head and training-trigger settings, shared with the demo. */
    static final class HeadOptions {
        @Option(names = "--min-new", defaultValue = "200", description = "Train when this many new labelled train vectors arrived (default: ${DEFAULT-VALUE}).")
        int minNew;

        @Option(names = "--max-wait", defaultValue = "60s", description = "... or when some arrived and waited this long, e.g. 30s, 2m (default: ${DEFAULT-VALUE}).")
        String maxWait;

        @Option(names = "--promotion-margin", defaultValue = "0.01", description = "A new version becomes 'serving' unless its validation accuracy is more than this below the serving one's (default: ${DEFAULT-VALUE}).")
        double promotionMargin;

        @Option(names = "--auto-retrain-after", defaultValue = "0", paramLabel = "K",
                description = "Publish a retrain request (fine-tune the last 2 blocks, 2 epochs, lr 1e-4, flips) when the last K versions did not improve on the best earlier validation accuracy; 0 = never (default: ${DEFAULT-VALUE}).")
        int autoRetrainAfter;

        @Option(names = "--hidden", description = "Hidden units of the head; 0 = softmax regression (default: the head's default).")
        Integer hidden;

        @Option(names = "--epochs", description = "Epochs per training (default: the head's default).")
        Integer epochs;

        @Option(names = "--learning-rate", description = "Adam learning rate (default: the head's default).")
        Double learningRate;

        HeadTrainerOptions apply(HeadTrainerOptions o) {
            HeadConfig c = o.head();
            if (hidden != null) {
                c = c.withHiddenUnits(hidden);
            }
            if (epochs != null) {
                c = c.withEpochs(epochs);
            }
            if (learningRate != null) {
                c = c.withLearningRate(learningRate);
            }
            TrainingPolicy.Settings d = o.policy();
            if (autoRetrainAfter < 0) {
                throw new IllegalArgumentException("--auto-retrain-after must be >= 0 (0 = off), got " + autoRetrainAfter);
            }
            return o.withHead(c).withPromotionMargin(promotionMargin)
                    .withAutoRetrain(autoRetrainAfter == 0 ? RetrainTrigger.Settings.OFF : RetrainTrigger.Settings.after(autoRetrainAfter))
                    .withPolicy(new TrainingPolicy.Settings(minNew, Durations.parse(maxWait), d.minLabels(), d.minTrainCount()));
        }
    }
}
