package dev.graft.app;

import dev.graft.common.base.BaseNetworks;
import dev.graft.featureworker.FeatureWorkerOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `graft bench features`: bare base, pipeline and PyTorch peer. */
final class BenchFeatures {
    private BenchFeatures() {}

    @Command(name = "features", mixinStandardHelpOptions = true,
            description = "Feature extraction speed, measured in one run: (a) the bare in-process base (decode excluded), "
                    + "(b) the pipeline from the images topic to committed features (embedded broker; running workers "
                    + "timed on bursts of images published in one transaction), "
                    + "(c) PyTorch MobileNetV2 features at the same resolution, batch and threads (when Debian's "
                    + "python3-torch is installed), and the ratios a/c and b/a.")
    static final class Features implements Callable<Integer> {

        @Option(names = "--resolutions", defaultValue = "224,96", description = "Input sizes (default: ${DEFAULT-VALUE}).")
        String resolutions;

        @Option(names = "--batches", defaultValue = "1,8,16,32", description = "Batch sizes (default: ${DEFAULT-VALUE}).")
        String batches;

        @Option(names = "--images", defaultValue = "auto", paramLabel = "N|auto", description = "Images per measurement, rounded up to "
                + "whole batches; auto: per point, enough for --auto-seconds at the bare rate of a short calibration, "
                + "so (b) measures throughput and not the worker's start (default: ${DEFAULT-VALUE}).")
        String images;

        @Option(names = "--auto-seconds", defaultValue = "15", description = "Target duration of an auto-sized point (default: ${DEFAULT-VALUE}).")
        double autoSeconds;

        @Option(names = "--worker-warm-up", description = "The pipeline's worker runs its warm-up pass while joining (A/B of that lever; graft feature-worker --warm-up).")
        boolean workerWarmUp;

        @Option(names = "--warmup", defaultValue = "2", description = "Warm-up batches before each bare and torch measurement (default: ${DEFAULT-VALUE}).")
        int warmup;

        @Option(names = "--threads", defaultValue = "2", description = "Threads for ND4J and torch (default: ${DEFAULT-VALUE}).")
        int threads;

        @Option(names = "--base", defaultValue = BaseOptions.DEFAULT_SPEC, description = "Pretrained base (default: ${DEFAULT-VALUE}).")
        String base;

        @Option(names = "--cut", defaultValue = "out_relu", description = "Layer to cut at (default: ${DEFAULT-VALUE}, the bottleneck, as torchvision's features + global average pool).")
        String cut;

        @Option(names = "--executor", defaultValue = "folded", description = "What runs the base for (a) and (b): folded (the inference-only executor, checked against DL4J at load) or dl4j (the DL4J graph) (default: ${DEFAULT-VALUE}).")
        String executor;

        @Option(names = "--no-dl4j", description = "Skip the bare DL4J-graph column (by default measured next to the folded executor).")
        boolean noDl4j;

        @Option(names = "--rss", description = "Memory run instead of the grid: extract --images images per resolution and batch, sampling VmRSS after every batch; prints start/peak/end and whether it stays flat.")
        boolean rss;

        @Option(names = "--profile", description = "Also print where the folded executor's time goes (ms per op kind, share of a batch) for each point.")
        boolean profile;

        @Option(names = "--no-pipeline", description = "Skip (b), the embedded-broker pipeline.")
        boolean noPipeline;

        @Option(names = "--no-pipeline-warm-up", description = "Time (b) from its first burst: without the untimed warm-up bursts "
                + "that let the JIT compile Kafka's and Arrow's code first, as (a) is timed after warm-up batches.")
        boolean noPipelineWarmUp;

        @Option(names = "--commit-interval", defaultValue = "100ms", paramLabel = "DURATION",
                description = "The pipeline worker's commit interval (graft feature-worker --commit-interval; 0 = a "
                        + "transaction per batch) (default: ${DEFAULT-VALUE}).")
        String commitInterval;

        @Option(names = "--background-policy", defaultValue = "idle", paramLabel = "idle|nice",
                description = "The pipeline worker's --background-policy: its poll, decode, Kafka client and JIT compiler "
                        + "threads under SCHED_IDLE, or at --background-nice (default: ${DEFAULT-VALUE}).")
        String backgroundPolicy;

        @Option(names = "--background-nice", defaultValue = "" + FeatureWorkerOptions.DEFAULT_BACKGROUND_NICE, paramLabel = "N",
                description = "The pipeline worker's --background-nice (with --background-policy nice): nice value of its "
                        + "poll, decode, Kafka client and JIT compiler threads, 0 = equal priorities (default: ${DEFAULT-VALUE}).")
        int backgroundNice;

        @Option(names = "--broker-policy", defaultValue = "idle", paramLabel = "idle|nice",
                description = "Priority of the embedded broker's threads in (b): SCHED_IDLE, or --broker-nice. The broker "
                        + "stands in for a cluster on other machines; lowered, it takes the cores the forward pass leaves "
                        + "idle, as the worker's Kafka side does; its CPU is still counted (default: ${DEFAULT-VALUE}).")
        String brokerPolicy;

        @Option(names = "--broker-nice", defaultValue = "" + FeatureWorkerOptions.DEFAULT_BACKGROUND_NICE, paramLabel = "N",
                description = "Nice value of the embedded broker's threads with --broker-policy nice, 0 = the bench's own "
                        + "priority (default: ${DEFAULT-VALUE}).")
        int brokerNice;

        @Option(names = "--pipeline-workers", defaultValue = "1", paramLabel = "W",
                description = "Feature workers in (b), one group sharing an images topic of W partitions, each with its own "
                        + "base copy and threads/W OpenMP threads (as W worker processes with --omp-threads); (a) is then also "
                        + "timed as W extractors side by side and the faster layout counts (default: ${DEFAULT-VALUE}).")
        int pipelineWorkers;

        @Option(names = "--pipeline-lanes", defaultValue = "1", paramLabel = "L",
                description = "Inference lanes of each pipeline worker (its --lanes): L base copies taking batches from "
                        + "one queue, threads/(W*L) OpenMP threads each, behind one consumer and producer; (a) is then "
                        + "also timed as W*L extractors side by side (default: ${DEFAULT-VALUE}).")
        int pipelineLanes;

        @Option(names = "--queued-images", defaultValue = "auto", paramLabel = "N|auto",
                description = "The pipeline worker's --queued-images: images on its inference thread at once, running "
                        + "and queued; auto: the worker's default for each resolution (default: ${DEFAULT-VALUE}).")
        String queuedImages;

        @Option(names = "--repeats", defaultValue = "" + FeatureBench.DEFAULT_REPEATS, paramLabel = "R",
                description = "Times (a) and (b) each run per point, interleaved; each counts with its median "
                        + "(default: ${DEFAULT-VALUE}).")
        int repeats;

        @Option(names = "--no-decode-ahead", description = "Run (b) with the worker's --no-decode-ahead (decoding on the inference thread), to measure that lever.")
        boolean noDecodeAhead;

        @Option(names = "--no-torch", description = "Skip (c), the PyTorch peer.")
        boolean noTorch;

        @Option(names = "--python", paramLabel = "PATH", description = "Interpreter for the torch peer (default: ${DEFAULT-VALUE}; Debian's, not a pyenv one).")
        Path python = TorchPeer.DEFAULT_PYTHON;

        @Option(names = "--torch-script", paramLabel = "FILE", description = "The peer script (default: ${DEFAULT-VALUE}).")
        Path torchScript = TorchPeer.DEFAULT_SCRIPT;

        @Option(names = "--model-cache", paramLabel = "DIR", description = "Where pretrained networks are cached (default: $GRAFT_HOME/models).")
        Path modelCache;

        @Option(names = "--json", paramLabel = "FILE", description = "Also write {\"runs\": [{resolution, batch, bare_img_s, pipeline_img_s, torch_img_s, ...}]}.")
        Path json;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        /** "auto" or a positive count. */
        static int parseImages(String v) {
            if (v.trim().equalsIgnoreCase("auto")) return FeatureBench.AUTO_IMAGES;
            try {
                int n = Integer.parseInt(v.trim());
                if (n >= 1) return n;
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException("--images: '" + v + "' is neither a positive count nor auto");
        }

        /** {@code --broker-policy}'s value, or an error naming the flag. */
        static FeatureWorkerOptions.BackgroundPolicy brokerPolicy(String v) {
            try {
                return FeatureWorkerOptions.BackgroundPolicy.parse(v);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--broker-policy: expected idle or nice, got '" + v + "'", e);
            }
        }

        /** {@link FeatureBench#AUTO_QUEUED_IMAGES} for {@code auto}, else the number. */
        static int queuedImages(String text) {
            try {
                Integer n = FeatureWorkerOptions.parseQueuedImages(text);
                return n == null ? FeatureBench.AUTO_QUEUED_IMAGES : n;
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--queued-images " + e.getMessage(), e);
            }
        }

        @Override
        public Integer call() throws Exception {
            FeatureBench.Settings settings;
            try {
                List<Integer> res = FeatureBench.parseIntList(resolutions, "--resolutions");
                List<Integer> bs = FeatureBench.parseIntList(batches, "--batches");
                settings = new FeatureBench.Settings(base, cut, res, bs, parseImages(images), warmup, threads, !noPipeline && !rss, !noTorch && !rss,
                        modelCache != null ? modelCache : BaseNetworks.defaultCacheDir(),
                        new TorchPeer(python, torchScript), executor, !noDl4j, rss, profile, autoSeconds, workerWarmUp,
                        !noDecodeAhead, !noPipelineWarmUp, Durations.parse(commitInterval),
                        pipelineWorkers, repeats, backgroundNice, brokerNice,
                        FeatureWorkerOptions.BackgroundPolicy.parse(backgroundPolicy),
                        brokerPolicy(brokerPolicy), queuedImages(queuedImages), pipelineLanes);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            FeatureBench.Result r = new FeatureBench(settings, System.out).run();
            System.out.println();
            String tunables = System.getenv("GLIBC_TUNABLES");
            System.out.println("a = bare base, b = pipeline (images topic -> committed features), c = torch; "
                    + "cut " + r.cut() + ", " + r.threads() + " threads, " + Runtime.getRuntime().availableProcessors() + " CPUs, "
                    + (tunables == null ? "glibc malloc defaults" : "GLIBC_TUNABLES=" + tunables) + ", "
                    + FeatureBench.ompSpinShown(System.getenv("GOMP_SPINCOUNT")));
            if (!r.runs().isEmpty()) System.out.println(FeatureBench.table(r.runs()));
            String legend = FeatureBench.intervalLegend(r.runs());
            if (legend != null) System.out.println(legend);
            for (FeatureBench.RssRun m : r.rss()) System.out.println(m);
            for (String n : r.notes()) System.out.println("note: " + n);
            if (json != null) {
                Path abs = json.toAbsolutePath();
                Path tmp = Files.createTempFile(abs.getParent(), ".graft-bench", ".json");
                Files.writeString(tmp, FeatureBench.toJsonString(r, settings));
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                System.out.println("wrote " + json);
            }
            return 0;
        }
    }
}
