package dev.graft.app;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.contract.BaseRef;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.base.BaseResolver;
import dev.graft.common.model.ModelRegistry;
import dev.graft.featureworker.BaseFollower;
import dev.graft.featureworker.FeatureWorker;
import dev.graft.featureworker.FeatureWorkerOptions;
import java.util.ArrayList;
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

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--group", description = "Consumer group (default: graft-features-<base id>, so each base featurizes every image once).")
    String group;

    @Option(names = "--worker-id", description = "Stable id of this worker; a restarted worker with the same id aborts its predecessor's open transaction at once (default: random).")
    String workerId;

    @Option(names = "--cuts", paramLabel = "LAYER,LAYER,...", split = ",",
            description = "Several cut layers featurized in one forward pass; one feature record per cut and batch, "
                    + "each under its own base id (replaces --cut).")
    List<String> cuts;

    @Option(names = "--warm-up", negatable = true, defaultValue = "false", fallbackValue = "true",
            description = "Run one blank batch through the base on the inference thread while joining the group "
                    + "(default: ${DEFAULT-VALUE}; measured no gain in graft bench features).")
    boolean warmUp;

    @Option(names = "--batch-size", defaultValue = "16", description = "Images per forward pass and per feature record (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--decode-ahead", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Decode the next full batch on a second thread while the current one runs through the base (default: on; --no-decode-ahead decodes on the inference thread).")
    boolean decodeAhead;

    @Option(names = "--commit-interval", defaultValue = "100ms", paramLabel = "DURATION",
            description = "How long a transaction stays open for more batches, as Kafka Streams' commit.interval.ms "
                    + "under exactly-once: fewer transactions, features visible downstream up to this much later, more "
                    + "work redone after a failure; it commits at once when nothing is in flight. 0 commits every batch "
                    + "(default: ${DEFAULT-VALUE}; max 30s).")
    String commitInterval;

    @Option(names = "--queued-images", defaultValue = "auto", paramLabel = "N|auto",
            description = "Images on the inference thread at once, running and queued (decoded ahead), unless two "
                    + "batches hold more: enough to keep the forward pass busy while the poll thread commits. Lower it "
                    + "to save memory (one pixel buffer per queued batch). auto: as many as 77 MB of pixels hold, at "
                    + "least " + FeatureWorkerOptions.DEFAULT_QUEUED_IMAGES + " (224 px: 128, 96 px: 696) "
                    + "(default: ${DEFAULT-VALUE}; 1.." + FeatureWorkerOptions.MAX_QUEUED_IMAGES + ").")
    String queuedImages;

    @Option(names = "--omp-threads", defaultValue = "0", paramLabel = "N",
            description = "OpenMP threads of this worker's forward passes; 0 = OMP_NUM_THREADS (default: ${DEFAULT-VALUE}). "
                    + "On a small base several workers with one thread each beat one with all cores (README, Benchmarks).")
    int ompThreads;

    @Option(names = "--lanes", defaultValue = "1", paramLabel = "N",
            description = "Inference lanes: N threads, each with its own copy of the base and --omp-threads OpenMP "
                    + "threads, taking batches in order from one queue behind this worker's one consumer, producer and "
                    + "transaction. On a small base, lanes of one thread each match as many single-threaded workers "
                    + "with one Kafka side (README, Benchmarks) (default: ${DEFAULT-VALUE}; 1.."
                    + FeatureWorkerOptions.MAX_LANES + ").")
    int lanes;

    @Option(names = "--background-policy", defaultValue = "idle", paramLabel = "idle|nice",
            description = "How the worker's poll, decode, Kafka client and JIT compiler threads yield to the forward pass, "
                    + "which keeps the process's priority, so the Kafka side runs in its gaps instead of stalling its "
                    + "OpenMP team: idle = Linux SCHED_IDLE (they run only on cores nothing else wants; a woken forward-pass "
                    + "thread takes its core back at once), nice = the nice value --background-nice (default: ${DEFAULT-VALUE}).")
    String backgroundPolicy;

    @Option(names = "--background-nice", defaultValue = "" + FeatureWorkerOptions.DEFAULT_BACKGROUND_NICE, paramLabel = "N",
            description = "With --background-policy nice: Linux nice value (0-19) of those threads; 0 leaves priorities "
                    + "alone (default: ${DEFAULT-VALUE}).")
    int backgroundNice;

    @Option(names = "--follow-bases", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Follow base-published events and featurize the whole images log again with each new base, "
                    + "in group GROUP.base-BASEID (default: on; --no-follow-bases turns it off).")
    boolean followBases;

    @Option(names = "--max-followed-bases", defaultValue = "2",
            description = "Newest published bases featurized at once; an older one stops when a newer one exceeds it (default: ${DEFAULT-VALUE}).")
    int maxFollowedBases;

    @Option(names = "--device", defaultValue = "cpu",
            description = "cpu | cuda. cuda needs a build with -Pcuda (ND4J CUDA backend on the class path) and a GPU (untested; default: ${DEFAULT-VALUE}).")
    String device;

    /** Follow groups: the explicit --group, else one shared prefix so every default worker shares GROUP.base-ID. */
    static final String DEFAULT_FOLLOW_GROUP = "graft-features";

    @Override
    public Integer call() throws java.io.IOException {
        base.validate();
        if (maxFollowedBases < 1) {
            throw new ParameterException(spec.commandLine(), "--max-followed-bases must be at least 1, got " + maxFollowedBases);
        }
        Devices.require(device);
        if (ompThreads < 0) {
            throw new ParameterException(spec.commandLine(), "--omp-threads must be >= 0 (0 = OMP_NUM_THREADS), got " + ompThreads);
        }
        try {
            FeatureWorkerOptions.requireBackgroundNice(backgroundNice);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--background-nice: " + e.getMessage());
        }
        FeatureWorkerOptions.BackgroundPolicy policy;
        try {
            policy = FeatureWorkerOptions.BackgroundPolicy.parse(backgroundPolicy);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--background-policy: " + e.getMessage());
        }
        try {
            FeatureWorkerOptions.requireLanes(lanes);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--lanes: " + e.getMessage());
        }
        Integer queued;
        try {
            queued = FeatureWorkerOptions.parseQueuedImages(queuedImages);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--queued-images " + e.getMessage());
        }
        java.time.Duration interval;
        try {
            interval = Durations.parse(commitInterval);
            if (interval.compareTo(FeatureWorkerOptions.MAX_COMMIT_INTERVAL) > 0) {
                throw new IllegalArgumentException("at most " + FeatureWorkerOptions.MAX_COMMIT_INTERVAL.toSeconds() + "s");
            }
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--commit-interval: " + e.getMessage());
        }
        if (cuts != null && base.cut != null) {
            throw new ParameterException(spec.commandLine(),
                    "--cut and --cuts exclude each other; list every layer in --cuts");
        }
        KafkaSettings connected = kafka.connect();
        MetricsServer server = metrics.start("feature-worker");
        KafkaSettings settings = server == null ? connected : KafkaMetricsBridge.install(connected, server.registry());
        java.util.function.Supplier<BaseNetwork> load = () -> cuts == null ? base.load() : base.load(cuts);
        try (BaseNetwork network = load.get()) {
            FeatureWorkerOptions options = FeatureWorkerOptions.defaults(kafka.topics(),
                            group != null ? group : defaultGroup(network),
                            workerId != null ? workerId : "fw-" + UUID.randomUUID().toString().substring(0, 8))
                    .withBatchSize(batchSize).withWarmUp(warmUp)
                    .withDecodeAhead(decodeAhead).withCommitInterval(interval).withOmpThreads(ompThreads)
                    .withBackgroundNice(backgroundNice).withBackgroundPolicy(policy)
                    .withQueuedImages(queued != null ? queued : FeatureWorkerOptions.queuedImagesFor(network.ref().inputSize()))
                    .withLanes(lanes);
            List<BaseNetwork> laneBases = new ArrayList<>(List.of(network));
            try {
                for (int i = 1; i < lanes; i++) laneBases.add(load.get()); // one copy per lane
            } catch (RuntimeException e) {
                for (int i = 1; i < laneBases.size(); i++) laneBases.get(i).close();
                throw e;
            }
            FeatureWorker worker = FeatureWorker.create(options, settings, laneBases);
            if (server != null) {
                GraftMetrics.bindFeatureWorker(server.registry(), worker, options.workerId());
            }
            Runtime.getRuntime().addShutdownHook(new Thread(worker::close, "graft-feature-worker-shutdown"));
            for (BaseRef r : network.refs()) {
                System.err.printf("graft feature-worker %s: base %s (%s, cut %s, %dpx, %d-d), group %s, %d queued images%n",
                        options.workerId(), r.id(), r.spec(), r.cut(), r.inputSize(), r.featureDim(), options.groupId(),
                        options.queuedImages());
            }
            BaseFollower follower = null;
            Thread followerThread = null;
            if (followBases) {
                BaseResolver resolver = new BaseResolver(new ModelRegistry(kafka.topics(), () -> settings.consumer(null)),
                        BaseResolver.defaultBasesDir(), base.cacheDir());
                follower = BaseFollower.create(options, group != null ? group : DEFAULT_FOLLOW_GROUP, settings,
                        ref -> resolver.load(ref.spec(), ref.cut(), ref.inputSize()), maxFollowedBases,
                        network.refs().stream().map(BaseRef::id).collect(java.util.stream.Collectors.toSet()));
                followerThread = new Thread(follower, "graft-base-follower");
                followerThread.setDaemon(true);
                followerThread.start();
                Runtime.getRuntime().addShutdownHook(new Thread(follower::close, "graft-base-follower-shutdown"));
            }
            try {
                MetricsServer.runHealthy(server, worker::run);
            } finally {
                if (follower != null) {
                    follower.close();
                }
                for (int i = 1; i < laneBases.size(); i++) laneBases.get(i).close(); // the first is closed by try
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
