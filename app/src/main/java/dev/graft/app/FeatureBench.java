package dev.graft.app;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.base.BaseSpec;
import dev.graft.common.json.Json;
import dev.graft.common.kafka.EmbeddedKafkaBroker;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.os.ThreadNice;
import dev.graft.common.progress.Progress;
import dev.graft.featureworker.FeatureWorkerOptions;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.Producer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code graft bench features}: in one run on one machine, (a) the bare in-process base (decode excluded),
 * (b) the full pipeline from the images topic to committed features on an embedded broker, (c) the PyTorch
 * peer ({@link TorchPeer}), over a grid of resolutions and batch sizes.
 *
 * <p>Pure parts (grid parsing, ratios, table, JSON) are static and tested without a network or broker.
 */
public final class FeatureBench {

    /**
     * What to measure. {@code images} is rounded up to whole batches, {@link #AUTO_IMAGES} (0) sizes each point from a
     * short bare calibration so the pipeline runs about {@code autoSeconds} (a throughput, not a start-up measurement);
     * {@code warmup} counts batches; {@code workerWarmUp}: the pipeline's worker warms its inference thread while it
     * joins ({@code graft feature-worker --warm-up}).
     * {@code executor}: {@code folded} or {@code dl4j}, what (a) and (b) run on; {@code compareDl4j}: also time the
     * bare DL4J graph in the same run; {@code rss}: instead of the grid, a memory run of {@code images} images per
     * point sampling VmRSS after every batch; {@code pipelineWarmUp}: before the timed bursts, untimed ones through
     * the same workers ({@link PipelineRig}), so (b) is a warm JVM's throughput as (a) is (the first pass through Kafka's,
     * the broker's and Arrow's code spent up to 70% of a core in the JIT compiler threads here); {@code repeats}: (a)
     * and (b) are each timed this many times, in rounds of alternating order (a b, b a, a b …), and each counts
     * with its median (single runs of the bare base here swung up to 90% between two runs of one point);
     * {@code brokerNice}: nice value of the embedded broker's threads ({@link #startBroker}); {@code backgroundNice}
     * and {@code backgroundPolicy}: the pipeline workers' ({@link FeatureWorkerOptions#backgroundPolicy()}).
     */
    public record Settings(String baseSpec, String cut, List<Integer> resolutions, List<Integer> batches, int images,
                           int warmup, int threads, boolean pipeline, boolean torch, Path modelCache, TorchPeer peer,
                           String executor, boolean compareDl4j, boolean rss, boolean profile, double autoSeconds,
                           boolean workerWarmUp, boolean decodeAhead, boolean pipelineWarmUp,
                           java.time.Duration commitInterval, int pipelineWorkers, int repeats, int backgroundNice,
                           int brokerNice, FeatureWorkerOptions.BackgroundPolicy backgroundPolicy,
                           FeatureWorkerOptions.BackgroundPolicy brokerPolicy, int queuedImages, int pipelineLanes) {
        /** With one inference lane per pipeline worker. */
        public Settings(String baseSpec, String cut, List<Integer> resolutions, List<Integer> batches, int images,
                        int warmup, int threads, boolean pipeline, boolean torch, Path modelCache, TorchPeer peer,
                        String executor, boolean compareDl4j, boolean rss, boolean profile, double autoSeconds,
                        boolean workerWarmUp, boolean decodeAhead, boolean pipelineWarmUp,
                        java.time.Duration commitInterval, int pipelineWorkers, int repeats, int backgroundNice,
                        int brokerNice, FeatureWorkerOptions.BackgroundPolicy backgroundPolicy,
                        FeatureWorkerOptions.BackgroundPolicy brokerPolicy, int queuedImages) {
            this(baseSpec, cut, resolutions, batches, images, warmup, threads, pipeline, torch, modelCache, peer,
                    executor, compareDl4j, rss, profile, autoSeconds, workerWarmUp, decodeAhead, pipelineWarmUp,
                    commitInterval, pipelineWorkers, repeats, backgroundNice, brokerNice, backgroundPolicy, brokerPolicy,
                    queuedImages, 1);
        }

        public Settings(String baseSpec, String cut, List<Integer> resolutions, List<Integer> batches, int images,
                        int warmup, int threads, boolean pipeline, boolean torch, Path modelCache, TorchPeer peer) {
            this(baseSpec, cut, resolutions, batches, images, warmup, threads, pipeline, torch, modelCache, peer,
                    "folded", false, false, false, DEFAULT_AUTO_SECONDS, false, true, true,
                    FeatureWorkerOptions.DEFAULT_COMMIT_INTERVAL, 1, DEFAULT_REPEATS,
                    FeatureWorkerOptions.DEFAULT_BACKGROUND_NICE, FeatureWorkerOptions.DEFAULT_BACKGROUND_NICE,
                    FeatureWorkerOptions.DEFAULT_BACKGROUND_POLICY, DEFAULT_BROKER_POLICY, AUTO_QUEUED_IMAGES);
        }

        public Settings {
            if (!executor.equals("folded") && !executor.equals("dl4j")) {
                throw new IllegalArgumentException("executor '" + executor + "': expected folded or dl4j");
            }
            if (resolutions.isEmpty() || batches.isEmpty()) throw new IllegalArgumentException("empty grid");
            FeatureWorkerOptions.requireCommitInterval(commitInterval);
            FeatureWorkerOptions.requireBackgroundNice(backgroundNice);
            java.util.Objects.requireNonNull(backgroundPolicy, "backgroundPolicy");
            java.util.Objects.requireNonNull(brokerPolicy, "brokerPolicy");
            if (queuedImages != AUTO_QUEUED_IMAGES) FeatureWorkerOptions.requireQueuedImages(queuedImages);
            if (brokerNice < 0 || brokerNice > ThreadNice.MAX) {
                throw new IllegalArgumentException("broker nice must be in 0.." + ThreadNice.MAX + ", got " + brokerNice);
            }
            if (pipelineWorkers < 1 || pipelineWorkers > threads) {
                throw new IllegalArgumentException("pipeline workers must be in 1.." + threads + " (the threads), got "
                        + pipelineWorkers);
            }
            if (pipelineLanes < 1 || pipelineWorkers * pipelineLanes > threads) {
                throw new IllegalArgumentException("pipeline workers x lanes must be in 1.." + threads
                        + " (the threads), got " + pipelineWorkers + " x " + pipelineLanes);
            }
            if (repeats < 1 || repeats > MAX_REPEATS) {
                throw new IllegalArgumentException("repeats must be in 1.." + MAX_REPEATS + ", got " + repeats);
            }
            if (images < 0 || warmup < 0 || threads < 1) {
                throw new IllegalArgumentException("need images >= 1 (or auto), warmup >= 0, threads >= 1");
            }
            if (!(autoSeconds > 0 && autoSeconds <= 3600)) {
                throw new IllegalArgumentException("auto seconds must be in (0, 3600], got " + autoSeconds);
            }
            for (int b : batches) {
                if (b > FeatureWorkerOptions.MAX_BATCH) {
                    throw new IllegalArgumentException("batch " + b + " > " + FeatureWorkerOptions.MAX_BATCH);
                }
            }
        }
    }

    /**
     * One grid point. Null speeds = not measured (skipped or failed). {@code bareImgS} and {@code pipelineImgS} are
     * the medians of {@code bareRuns} and {@code pipelineRuns}, the CPU and start figures those of the median run;
     * {@code bareSteal} and {@code pipelineSteal}: each run's hypervisor steal share ({@link HostCpu}; null unknown).
     */
    public record Run(int resolution, int batch, int images, Double bareImgS, Double bareCpuMsPerImg,
                      Double pipelineImgS, Double pipelineCpuMsPerImg, Double pipelineFirstCommitS, Double pipelineSteadyImgS, Double torchImgS, Double torchCpuMsPerImg,
                      Long vmRssMb, Long vmHwmMb, String executor, Double dl4jImgS, Double dl4jCpuMsPerImg,
                      Double pipelineColdImgS, List<Double> bareRuns, List<Double> pipelineRuns,
                      Double pipelineJoinS, List<Double> bareSteal, List<Double> pipelineSteal) {
        public Run {
            bareRuns = bareRuns == null ? List.of() : List.copyOf(bareRuns);
            pipelineRuns = pipelineRuns == null ? List.of() : List.copyOf(pipelineRuns);
            bareSteal = bareSteal == null ? List.of() : java.util.Collections.unmodifiableList(new ArrayList<>(bareSteal));
            pipelineSteal = pipelineSteal == null ? List.of()
                    : java.util.Collections.unmodifiableList(new ArrayList<>(pipelineSteal));
        }

        public Run(int resolution, int batch, int images, Double bareImgS, Double bareCpuMsPerImg,
                   Double pipelineImgS, Double pipelineCpuMsPerImg, Double pipelineFirstCommitS, Double pipelineSteadyImgS,
                   Double torchImgS, Double torchCpuMsPerImg, Long vmRssMb, Long vmHwmMb) {
            this(resolution, batch, images, bareImgS, bareCpuMsPerImg, pipelineImgS, pipelineCpuMsPerImg,
                    pipelineFirstCommitS, pipelineSteadyImgS, torchImgS, torchCpuMsPerImg, vmRssMb, vmHwmMb, null, null,
                    null, null, null, null, null, null, null);
        }

        /** Bare executor over the bare DL4J graph, when both were measured. */
        public Double foldedOverDl4j() {
            return ratio(bareImgS, dl4jImgS);
        }

        public Double bareOverTorch() {
            return ratio(bareImgS, torchImgS);
        }

        public Double pipelineOverBare() {
            return ratio(pipelineImgS, bareImgS);
        }

        /**
         * The median over rounds of b/a within a round (a round's (a) and (b) ran back to back, so a slow phase of
         * the machine tends to hit both); null without both series.
         */
        public Double pairedPipelineOverBare() {
            List<Double> r = pairedRatios();
            return r.isEmpty() ? null : median(r);
        }

        /**
         * How far the paired b/a can be trusted: the sign test's interval for its median at {@link
         * MedianInterval#LEVEL} where the rounds allow it (9 rounds: 2nd lowest to 2nd highest, 96%); null without
         * both series.
         */
        MedianInterval pairedPipelineOverBareInterval() {
            List<Double> r = pairedRatios();
            return r.isEmpty() ? null : MedianInterval.of(r, MedianInterval.LEVEL);
        }

        private List<Double> pairedRatios() {
            if (bareRuns.isEmpty() || bareRuns.size() != pipelineRuns.size()) return List.of();
            List<Double> r = new ArrayList<>();
            for (int i = 0; i < bareRuns.size(); i++) r.add(pipelineRuns.get(i) / bareRuns.get(i));
            return r;
        }
    }

    public record Result(String baseId, String cut, int threads, List<Run> runs, List<String> notes, String torchVersion,
                         List<RssRun> rss) {
        public Result(String baseId, String cut, int threads, List<Run> runs, List<String> notes, String torchVersion) {
            this(baseId, cut, threads, runs, notes, torchVersion, List.of());
        }
    }

    /** {@code images} value asking for {@link #autoImages}. */
    public static final int AUTO_IMAGES = 0;
    /** {@code queuedImages} value asking for the worker's default at each resolution ({@link FeatureWorkerOptions#queuedImagesFor}). */
    public static final int AUTO_QUEUED_IMAGES = 0;
    public static final double DEFAULT_AUTO_SECONDS = 15;
    public static final int DEFAULT_REPEATS = 3;

    /** The embedded broker's threads run under {@code SCHED_IDLE} unless {@code --broker-policy nice}. */
    static final FeatureWorkerOptions.BackgroundPolicy DEFAULT_BROKER_POLICY = FeatureWorkerOptions.BackgroundPolicy.IDLE;
    static final int MAX_REPEATS = 15;
    /** Fewest images of an auto-sized point. */
    static final int MIN_AUTO_IMAGES = 64;

    private final Settings s;
    private final PrintStream out;
    /** The bench PNGs of the point being measured, each made once rather than before every burst. */
    private final PngCache pngs = new PngCache();

    public FeatureBench(Settings settings, PrintStream out) {
        this.s = settings;
        this.out = out;
    }

    // ---------------------------------------------------------------- measurement

    public Result run() throws IOException, InterruptedException {
        List<String> notes = new ArrayList<>();
        Nd4j.getEnvironment().setMaxThreads(s.threads());
        Nd4j.getEnvironment().setMaxMasterThreads(s.threads());
        String omp = System.getenv("OMP_NUM_THREADS");
        if (omp == null || !omp.equals(String.valueOf(s.threads()))) {
            notes.add("ND4J max threads set to " + s.threads() + "; OMP_NUM_THREADS is " + (omp == null ? "unset" : omp)
                    + " (oneDNN's OpenMP pool follows it; set OMP_NUM_THREADS=" + s.threads() + " to pin it)");
        }
        String torchVersion = null;
        boolean torchOk = false;
        if (s.torch()) {
            TorchPeer.Availability av = s.peer().availability();
            torchOk = av.available();
            torchVersion = av.version();
            if (!torchOk) {
                notes.add(TorchPeer.SKIPPED);
                out.println(TorchPeer.SKIPPED + (av.detail() == null ? "" : " [" + av.detail() + "]"));
            } else {
                out.println("torch: " + av.version() + " via " + s.peer().python());
            }
        }
        out.printf("importing %s%n", s.baseSpec());
        BaseNetworks.Source src = BaseNetworks.loadSource(BaseSpec.parse(s.baseSpec()), s.modelCache(),
                BaseNetworks.defaultZooDir(), true);
        List<Run> runs = new ArrayList<>();
        List<RssRun> rssRuns = new ArrayList<>();
        String baseId = null;
        EmbeddedKafkaBroker broker = null;
        Progress grid = Progress.bar(System.err, "bench grid", (long) s.resolutions().size() * s.batches().size(), "points");
        try {
            if (s.pipeline()) {
                broker = startBroker(s.brokerPolicy(), s.brokerNice(), notes);
                long c0 = System.nanoTime();
                createInternalTopics(KafkaSettings.of(broker.bootstrapServers()));
                out.printf("embedded Kafka at %s (started in %.1f s, internal topics in %.1f s, not timed)%s%n",
                        broker.bootstrapServers(), broker.startDuration().toMillis() / 1000.0,
                        (System.nanoTime() - c0) / 1e9, brokerPriorityShown());
            }
            for (int res : s.resolutions()) {
                try (BaseNetwork base = BaseNetworks.load(src, s.cut(), res, s.executor());
                     BaseNetwork dl4j = s.compareDl4j() && !s.rss() && base.executor().equals("folded")
                             ? BaseNetworks.load(src, s.cut(), res, "dl4j") : null) {
                    baseId = base.ref().id();
                    out.printf("base %s (%d-d), executor %s%n", baseId, base.ref().featureDim(), base.executor());
                    List<BaseNetwork> bases = new ArrayList<>(List.of(base));
                    try {
                        for (int i = 1; i < s.pipelineWorkers() * s.pipelineLanes() && !s.rss(); i++) {
                            bases.add(BaseNetworks.load(src, s.cut(), res, s.executor())); // the executor is not thread-safe
                        }
                        if (!base.executor().equals(s.executor())) {
                            notes.add(res + "px: executor " + s.executor() + " unavailable, ran " + base.executor());
                        }
                        for (int batch : s.batches()) {
                            int n = evenOverLanes(s.images() == AUTO_IMAGES
                                    ? autoImages(bare(base, res, batch, 4 * batch)[0], s.autoSeconds(), batch)
                                    : s.images(), batch, bases.size());
                            if (s.rss()) {
                                RssRun m = rss(base, res, batch, n);
                                rssRuns.add(m);
                                out.println(m);
                                continue;
                            }
                            Run r = measurePoint(bases, dl4j, broker, torchOk, res, batch, n, notes);
                            runs.add(r);
                            out.println(tableRow(r));
                            grid.update(runs.size());
                        }
                    } finally {
                        for (int i = 1; i < bases.size(); i++) bases.get(i).close();
                    }
                }
                System.gc();
            }
        } finally {
            grid.close();
            if (broker != null) broker.close();
        }
        return new Result(baseId, s.cut(), s.threads(), runs, notes, torchVersion, rssRuns);
    }

    /**
     * Starts the embedded broker from a thread lowered as {@code policy} says, so its threads, which inherit it, run
     * at that priority: {@code SCHED_IDLE}, or nice {@code nice} (0 leaves its priority alone). The broker stands in
     * for a Kafka cluster, which a deployment runs on other machines; on the bench's cores it then takes what the
     * forward pass leaves idle, as the worker's own Kafka side does ({@code --background-policy}), and its CPU is
     * still counted in (b)'s CPU per image. Under nice 10 a broker thread holding a core can make a woken OpenMP
     * thread of the forward pass wait for its time slice, as the worker's own background threads measurably did
     * (README, Benchmarks); for the broker itself the A/B stayed within the noise.
     */
    private EmbeddedKafkaBroker startBroker(FeatureWorkerOptions.BackgroundPolicy policy, int nice, List<String> notes)
            throws InterruptedException {
        boolean idle = policy == FeatureWorkerOptions.BackgroundPolicy.IDLE;
        boolean lower = (idle || nice > 0) && ThreadNice.supported();
        if ((idle || nice > 0) && !lower) {
            notes.add("broker priority (" + brokerPriority(policy, nice) + ") not applied: no per-thread scheduling here");
        }
        return onFreshThread("bench-broker-start", () -> {
            try {
                if (lower && idle) ThreadNice.idleCurrentThread();
                else if (lower) ThreadNice.lowerCurrentThread(nice);
            } catch (IOException e) {
                throw new UncheckedIOException("could not lower the broker's priority", e);
            }
            return EmbeddedKafkaBroker.builder().build().start();
        });
    }

    /** How the broker's priority is asked for: "SCHED_IDLE" or "nice N". */
    static String brokerPriority(FeatureWorkerOptions.BackgroundPolicy policy, int nice) {
        return policy == FeatureWorkerOptions.BackgroundPolicy.IDLE ? "SCHED_IDLE" : "nice " + nice;
    }

    /**
     * ", request handlers under SCHED_IDLE" or ", request handlers at nice N", as read back from the broker's
     * threads; "" where Linux's per-thread priorities do not exist or no request handler runs, and a note with
     * the reason where they could not be read.
     */
    private static String brokerPriorityShown() {
        if (!ThreadNice.supported()) return "";
        try {
            List<Integer> tids = ThreadNice.threadsNamed(BROKER_REQUEST_THREADS);
            if (tids.isEmpty()) return "";
            boolean allIdle = true;
            int min = Integer.MAX_VALUE;
            for (int tid : tids) {
                allIdle &= ThreadNice.policyOf(tid) == ThreadNice.SCHED_IDLE;
                min = Math.min(min, ThreadNice.niceOf(tid));
            }
            return allIdle ? ", request handlers under SCHED_IDLE" : ", request handlers at nice " + min;
        } catch (IOException e) {
            return ", request handlers' priority unreadable (" + e.getMessage() + ")";
        }
    }

    /** The broker's request handler and network threads ("data-plane-kafka-…", cut to 15 characters by Linux). */
    static final String BROKER_REQUEST_THREADS = "data-plane-kafk";

    /** Warm-up passes end when the JIT compiler threads used at most this share of a core over a pass. */
    static final double JIT_QUIET_SHARE = 0.05;
    /**
     * At the first point of a fresh JVM, five passes (~50 s of pipeline) left the JIT using 7.9 CPU-ms per image in
     * the median timed run at 96 px batch 1 (the inference threads used 26.5); ten left 1.1-7.1. With the broker in a
     * child JVM it still used 1.3-4.3 (eighth session), so it is not mostly the broker's code.
     * At 224 px batch 1, the default grid's first point, ten passes were not enough either (eleventh session): the
     * JIT still used 4-15% of a core in passes 6-10 and 1.8-9.5 CPU-ms per image in the timed bursts, whose b fell
     * back to b/a 0.90 and 0.86 in two grids. Methods called once per image at ~35 img/s reach C2's invocation
     * threshold (5,000 calls) only after minutes. With up to 40 passes the JIT got quiet after 17 (~2.5 min) and b/a
     * was 0.98.
     * The next points' warm-ups end after one to three passes, so the larger cap costs only at the first points.
     */
    static final int MAX_WARM_UP_PASSES = 30;

    /**
     * Untimed bursts through the rig until the JIT compilers are quiet ({@link #jitQuiet}) or
     * {@link #MAX_WARM_UP_PASSES} ran; returns the first (cold) burst's img/s. The embedded broker's and the
     * clients' code is compiled while it runs: on 2 cores the first pass spent up to a quarter of the process CPU
     * in the compiler threads, which a long-running worker pays once.
     */
    private double warmUpPipeline(PipelineRig rig, int res, int batch, int n, List<String> notes)
            throws InterruptedException {
        double cold = -1;
        for (int pass = 1; pass <= MAX_WARM_UP_PASSES; pass++) {
            long t0 = System.nanoTime();
            PipelineRig.Burst b = burst(rig, res, n);
            long wallMs = (System.nanoTime() - t0) / 1_000_000;
            long jitMs = Math.round(b.jitCpuMs());
            if (cold < 0) cold = b.imgS();
            out.printf(Locale.ROOT, "%dpx batch %d: pipeline warm-up pass %d, %.1f img/s, JIT %s (not counted)%n", res,
                    batch, pass, b.imgS(), jitMs >= 0 ? jitMs + " CPU-ms in " + wallMs + " ms" : "not measurable");
            if (jitMs < 0 || jitQuiet(jitMs, wallMs)) break;
            if (pass == MAX_WARM_UP_PASSES) {
                notes.add(String.format(Locale.ROOT, "%dpx batch %d: the JIT still used %d CPU-ms in the last of %d "
                        + "warm-up passes (%d ms)", res, batch, jitMs, pass, wallMs));
            }
        }
        return cold;
    }

    /** One burst of {@code n} bench PNGs through the rig, with ND4J's thread budget split as the workers' is. */
    private PipelineRig.Burst burst(PipelineRig rig, int res, int n) throws InterruptedException {
        if (rig.lanes() > 1) Nd4j.getEnvironment().setMaxThreads(threadsPerLane());
        try {
            return rig.burst(n, i -> pngs.get(res, i), threadsPerLane());
        } finally {
            Nd4j.getEnvironment().setMaxThreads(s.threads());
        }
    }

    /** The rig of one grid point's (b): its workers run from the first burst to the last. */
    private PipelineRig rig(EmbeddedKafkaBroker broker, List<BaseNetwork> bases, int res, int batch)
            throws InterruptedException {
        int lanes = bases.size();
        return new PipelineRig(KafkaSettings.of(broker.bootstrapServers()), bases, s.pipelineLanes(), res, batch,
                o -> o.withWarmUp(s.workerWarmUp())
                .withDecodeAhead(s.decodeAhead()).withCommitInterval(s.commitInterval())
                .withBackgroundNice(s.backgroundNice()).withBackgroundPolicy(s.backgroundPolicy())
                .withOmpThreads(lanes > 1 ? threadsPerLane() : 0).withQueuedImages(queuedImages(s, res)));
    }

    /** The pipeline worker's queued images at {@code res} px: the setting, or with {@code auto} the worker's default. */
    static int queuedImages(Settings s, int res) {
        return s.queuedImages() == AUTO_QUEUED_IMAGES ? FeatureWorkerOptions.queuedImagesFor(res) : s.queuedImages();
    }

    /**
     * How the bench's OpenMP helpers wait between parallel regions, for the summary line: libgomp reads
     * {@code GOMP_SPINCOUNT} once, when ND4J loads it, for the whole process, so (a) and (b) run under the same value.
     */
    static String ompSpinShown(String gompSpincount) {
        return gompSpincount == null || gompSpincount.isBlank() ? "libgomp's default spin (~300,000)"
                : "GOMP_SPINCOUNT=" + gompSpincount;
    }

    /** " (N context switches per batch)" of a bare run, or "" where unknown. */
    static String switchesShown(double[] bare) {
        return bare.length < 3 || bare[2] < 0 ? ""
                : String.format(Locale.ROOT, " (%.1f context switches per batch)", bare[2]);
    }

    /** Prints and returns the rig's join time. */
    private double joined(PipelineRig rig, int res, int batch) {
        out.printf(Locale.ROOT, "%dpx batch %d: %d worker(s) joined in %.2f s (not counted)%n", res, batch,
                rig.workers(), rig.joinSeconds());
        return rig.joinSeconds();
    }

    /**
     * Images of the untimed burst through each round's fresh rig before its timed one: two batches, at least 8, so
     * the timed burst does not start behind the new inference thread's first forward passes.
     */
    static int primeImages(int batch) {
        return Math.max(2 * batch, 8);
    }

    /** Whether a pass of {@code wallMs} with {@code jitMs} of compilation counts as warm. */
    static boolean jitQuiet(long jitMs, long wallMs) {
        return jitMs <= JIT_QUIET_SHARE * wallMs;
    }

    /**
     * One grid point of {@code n} images: the profile if asked, the DL4J graph if compared, (b)'s warm-up passes,
     * then {@code repeats} rounds of (a) and (b) in alternating order ({@link #bareFirst}), each counted with its
     * median and each run's steal share kept, then (c).
     */
    private Run measurePoint(List<BaseNetwork> bases, BaseNetwork dl4j, EmbeddedKafkaBroker broker, boolean torchOk,
                             int res, int batch, int n, List<String> notes) throws InterruptedException {
        BaseNetwork base = bases.get(0);
        if (s.profile()) {
            Map<String, Double> prof = onFreshThread("bench-profile", () -> BaseNetworks.profile(base,
                    Nd4j.rand(DataType.FLOAT, batch, res, res, 3).muli(255.0), 3));
            double total = prof.values().stream().mapToDouble(Double::doubleValue).sum();
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                    "profile %dpx batch %d (%.0f ms per batch):", res, batch, total));
            prof.forEach((k, v) -> sb.append(String.format(Locale.ROOT, " %s %.0f%%", k, 100 * v / total)));
            out.println(sb);
            notes.add(sb.toString());
        }
        double[] viaDl4j = dl4j == null ? null : bare(dl4j, res, batch, n);
        long[] mem = memoryMb();
        Double cold = null;
        Double join = null;
        List<double[]> bares = new ArrayList<>(); // one extractor with all threads, per round
        List<double[]> sides = new ArrayList<>(); // with several pipeline workers: as many extractors side by side
        List<PipelineRig.Burst> pipes = new ArrayList<>();
        List<Double> bareSteal = new ArrayList<>();
        List<Double> pipeSteal = new ArrayList<>();
        if (broker != null && s.pipelineWarmUp()) {
            try (PipelineRig rig = rig(broker, bases, res, batch)) {
                join = joined(rig, res, batch);
                cold = warmUpPipeline(rig, res, batch, n, notes);
            }
        }
        for (int i = 1; i <= s.repeats(); i++) {
            boolean bareFirst = broker == null || bareFirst(i);
            if (bareFirst) bareSteal.add(timedBare(bases, res, batch, n, notes, i, bares, sides));
            if (broker != null) {
                // a fresh rig per round: between its bursts a rig's inference threads would keep their OpenMP pools,
                // and (a), timed meanwhile, would run throttled (OneOffThread); closed, they are gone
                try (PipelineRig rig = rig(broker, bases, res, batch)) {
                    if (join == null) join = joined(rig, res, batch);
                    if (s.pipelineWarmUp()) burst(rig, res, primeImages(batch)); // the fresh threads' first batches
                    settle(notes, res, batch, "pipeline", i);
                    HostCpu h0 = HostCpu.now();
                    PipelineRig.Burst b = burst(rig, res, n);
                    pipeSteal.add(HostCpu.stealShare(h0, HostCpu.now()));
                    b.described().forEach(out::println);
                    pipes.add(b);
                }
            }
            if (!bareFirst) bareSteal.add(timedBare(bases, res, batch, n, notes, i, bares, sides));
            out.printf(Locale.ROOT, "%dpx batch %d round %d/%d: a %.1f img/s%s%s%s%n", res, batch, i, s.repeats(),
                    bares.get(i - 1)[0], sides.isEmpty() ? switchesShown(bares.get(i - 1))
                            : String.format(Locale.ROOT, " (%d x %d thread(s) side by side %.1f img/s)", bases.size(),
                                    threadsPerLane(), sides.get(i - 1)[0]), stolen(bareSteal.get(i - 1)), broker == null ? ""
                            : String.format(Locale.ROOT, ", b %.1f img/s%s (%s first)", pipes.get(i - 1).imgS(),
                                    stolen(pipeSteal.get(i - 1)), bareFirst ? "a" : "b"));
        }
        if (!sides.isEmpty()) {
            List<double[]> chosen = fasterLayout(bares, sides);
            notes.add(String.format(Locale.ROOT, "%dpx batch %d: bare medians 1 x %d threads %.1f img/s, %d x %d thread(s) "
                            + "side by side %.1f img/s; a is the faster layout's rounds (%s)", res, batch, s.threads(),
                    medianRate(bares), bases.size(), threadsPerLane(), medianRate(sides),
                    chosen == sides ? "side by side" : "one extractor"));
            bares = chosen;
        }
        List<Double> bareRates = bares.stream().map(b -> b[0]).toList();
        double[] bare = bares.get(medianIndex(bareRates));
        noteSpread(notes, res, batch, "bare", bareRates);
        noteSteal(notes, res, batch, "bare", bareSteal);
        noteSteal(notes, res, batch, "pipeline", pipeSteal);
        List<Double> pipeRates = pipes.stream().map(PipelineRig.Burst::imgS).toList();
        PipelineRig.Burst pipe = pipes.isEmpty() ? null : pipes.get(medianIndex(pipeRates));
        if (pipe != null) {
            notes.addAll(pipe.described());
            noteSpread(notes, res, batch, "pipeline", pipeRates);
        }
        Double torch = null;
        Double torchCpu = null;
        if (torchOk) {
            try {
                TorchPeer.Measurement m = s.peer().measure(res, batch, n, Math.max(1, s.warmup()), s.threads());
                torch = m.imgS();
                torchCpu = m.cpuMsPerImg();
            } catch (IOException | RuntimeException e) {
                notes.add("torch failed at " + res + "px batch " + batch + ": " + e.getMessage());
                out.println("torch failed: " + e.getMessage());
            }
        }
        return new Run(res, batch, n, median(bareRates), bare[1], pipe == null ? null : median(pipeRates),
                pipe == null ? null : pipe.cpuMsPerImg(), pipe == null ? null : pipe.firstCommitS(),
                pipe == null || pipe.steadyImgS() <= 0 ? null : pipe.steadyImgS(), torch, torchCpu,
                mem[0] < 0 ? null : mem[0], mem[1] < 0 ? null : mem[1], base.executor(),
                viaDl4j == null ? null : viaDl4j[0], viaDl4j == null ? null : viaDl4j[1], cold, bareRates, pipeRates,
                join, bareSteal, pipeSteal);
    }

    /**
     * Whether round {@code round} (from 1) times (a) before (b): odd rounds do, even rounds the other way round, so
     * a machine that speeds up or slows down over a round favours neither side of the paired ratio.
     */
    static boolean bareFirst(int round) {
        return round % 2 == 1;
    }

    /**
     * Of two bare layouts measured in the same rounds, the rounds of the one with the higher median rate (the first on
     * a tie). Choosing per round instead (the faster of the two each time) would take the maximum of two noisy
     * measurements: biased upwards wherever the layouts are close, and (b)/(a) with it downwards.
     */
    static List<double[]> fasterLayout(List<double[]> first, List<double[]> second) {
        return medianRate(second) > medianRate(first) ? second : first;
    }

    /** The median of runs' rates ({img/s, ...} each). */
    private static double medianRate(List<double[]> runs) {
        return median(runs.stream().map(r -> r[0]).toList());
    }

    /**
     * One settled, timed (a) of round {@code round}: one extractor with all threads, added to {@code bares}, and with
     * several pipeline workers also as many extractors side by side, added to {@code sides}; returns the steal share
     * over both (or null).
     */
    private Double timedBare(List<BaseNetwork> bases, int res, int batch, int n, List<String> notes, int round,
                             List<double[]> bares, List<double[]> sides) throws InterruptedException {
        settle(notes, res, batch, "bare", round);
        HostCpu h0 = HostCpu.now();
        bares.add(bare(bases.get(0), res, batch, n));
        if (bases.size() > 1) sides.add(bareSideBySide(bases, res, batch, n));
        return HostCpu.stealShare(h0, HostCpu.now());
    }

    /** A run that lost more than this share of the machine's CPU time to steal is noted. */
    static final double NOTED_STEAL = 0.05;

    private static String stolen(Double share) {
        return share == null || share < 0.005 ? "" : String.format(Locale.ROOT, " (steal %.0f%%)", 100 * share);
    }

    private static void noteSteal(List<String> notes, int res, int batch, String what, List<Double> shares) {
        List<String> high = new ArrayList<>();
        for (Double x : shares) {
            if (x != null && x > NOTED_STEAL) high.add(String.format(Locale.ROOT, "%.0f%%", 100 * x));
        }
        if (!high.isEmpty()) {
            notes.add(String.format(Locale.ROOT, "%dpx batch %d: %d of %d %s runs lost over %.0f%% of the machine's "
                    + "CPU to the hypervisor (steal %s)", res, batch, high.size(), shares.size(), what,
                    100 * NOTED_STEAL, String.join(", ", high)));
        }
    }

    /** A process using less than this share of one core over {@link #SETTLE_WINDOW_MS} counts as quiet. */
    static final double SETTLE_CPU_SHARE = 0.10;
    static final long SETTLE_WINDOW_MS = 200;
    static final long SETTLE_MAX_MS = 10_000;

    /**
     * Before each timed run: waits until the process is quiet ({@link #settle(LongSupplier, Sleeper, long, long,
     * double)}), so what the previous run left behind (a GC cycle, the JIT, freed native buffers) is not timed in
     * this one. Notes it when the process never got quiet.
     */
    private void settle(List<String> notes, int res, int batch, String what, int round) throws InterruptedException {
        long waited = settle(FeatureBench::cpuNanos, Thread::sleep, SETTLE_WINDOW_MS, SETTLE_MAX_MS, SETTLE_CPU_SHARE);
        if (waited > SETTLE_WINDOW_MS) {
            out.printf(Locale.ROOT, "%dpx batch %d round %d: waited %d ms for a quiet process before the %s run%n",
                    res, batch, round, waited, what);
        }
        if (waited < 0) {
            notes.add(String.format(Locale.ROOT, "%dpx batch %d round %d: the process did not get quiet within %d ms "
                    + "before the %s run", res, batch, round, SETTLE_MAX_MS, what));
        }
    }

    /** Sleeps; {@code Thread::sleep}, or a fake in tests. */
    interface Sleeper {
        void sleep(long ms) throws InterruptedException;
    }

    /**
     * Waits in windows of {@code windowMs} until one in which {@code cpu} (process CPU time, ns) advanced by less than
     * {@code share} of the window. Returns the ms waited (the quiet window included), or -1 if no window within
     * {@code maxMs} was quiet.
     */
    static long settle(LongSupplier cpu, Sleeper sleeper, long windowMs, long maxMs, double share)
            throws InterruptedException {
        for (long waited = windowMs; waited <= maxMs; waited += windowMs) {
            long c0 = cpu.getAsLong();
            sleeper.sleep(windowMs);
            if (cpu.getAsLong() - c0 < share * windowMs * 1_000_000L) {
                return waited;
            }
        }
        return -1;
    }

    /** Repeats of one measurement further apart than this (max / min) are noted. */
    static final double NOTED_SPREAD = 1.2;

    private static void noteSpread(List<String> notes, int res, int batch, String what, List<Double> rates) {
        if (rates.size() < 2) return;
        double lo = rates.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        double hi = rates.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        if (hi > NOTED_SPREAD * lo) {
            notes.add(String.format(Locale.ROOT, "%dpx batch %d: %s repeats spread %.1f-%.1f img/s (median counts)",
                    res, batch, what, lo, hi));
        }
    }

    /** The median of {@code values} (the mean of the middle two for an even count). */
    static double median(List<Double> values) {
        if (values.isEmpty()) throw new IllegalArgumentException("no values");
        List<Double> v = values.stream().sorted().toList();
        int m = v.size() / 2;
        return v.size() % 2 == 1 ? v.get(m) : (v.get(m - 1) + v.get(m)) / 2;
    }

    /** Index in {@code values} of the median (the lower middle for an even count): whose other figures are shown. */
    static int medianIndex(List<Double> values) {
        if (values.isEmpty()) throw new IllegalArgumentException("no values");
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) order.add(i);
        order.sort(java.util.Comparator.comparing(values::get));
        return order.get((values.size() - 1) / 2);
    }

    /**
     * A fresh broker creates {@code __transaction_state} on the first {@code initTransactions} and
     * {@code __consumer_offsets} on the first coordinator lookup (~0.5 s each, measured): a one-off of a new
     * cluster, not of a worker, so it happens here, before any timed run.
     */
    private static void createInternalTopics(KafkaSettings kafka) throws InterruptedException {
        try (Producer<byte[], byte[]> p = kafka.transactionalProducer("graft-bench-internal-topics");
             Admin admin = kafka.admin()) {
            admin.listConsumerGroupOffsets("graft-bench-internal-topics").partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("creating the broker's internal topics failed: " + e, e);
        }
    }

    /**
     * Images for an auto-sized point: enough for {@code seconds} at the calibrated bare rate, at least
     * {@link #MIN_AUTO_IMAGES}, in whole batches.
     */
    static int autoImages(double bareImgS, double seconds, int batch) {
        double want = Math.ceil(bareImgS * seconds);
        int n = want >= 1_000_000 ? 1_000_000 : (int) want;
        return roundUp(Math.max(MIN_AUTO_IMAGES, n), batch);
    }

    /**
     * Resident memory over a long bare run: VmRSS (MB) after warm-up, at 10% of the images, at its peak and at the
     * end. Flat = the end is within max(64 MB, 5%) of the 10% mark (the first batches allocate the buffers).
     */
    public record RssRun(int resolution, int batch, int images, String executor, double imgS, long startMb, long tenPctMb,
                         long peakMb, long endMb) {
        public boolean flat() {
            return endMb - tenPctMb <= Math.max(64, tenPctMb / 20);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "rss %dpx batch %d, %d images (%s, %.1f img/s): VmRSS start %d MB, "
                    + "at 10%% %d MB, peak %d MB, end %d MB: %s", resolution, batch, images, executor, imgS, startMb,
                    tenPctMb, peakMb, endMb, flat() ? "flat" : "GROWING");
        }
    }

    private RssRun rss(BaseNetwork base, int res, int batch, int n) throws InterruptedException {
        return onFreshThread("bench-rss", () -> {
            INDArray x = Nd4j.rand(DataType.FLOAT, batch, res, res, 3).muli(255.0);
            for (int i = 0; i < Math.max(1, s.warmup()); i++) base.extract(x);
            long start = memoryMb()[0];
            long tenPct = start;
            long peak = start;
            long t0 = System.nanoTime();
            for (int done = 0; done < n; done += batch) {
                base.extract(x);
                long now = memoryMb()[0];
                peak = Math.max(peak, now);
                if (done < n / 10) tenPct = now;
            }
            double sec = (System.nanoTime() - t0) / 1e9;
            return new RssRun(res, batch, n, base.executor(), n / sec, start, tenPct, peak, memoryMb()[0]);
        });
    }

    /**
     * {img/s, CPU-ms per image} of {@code extract} on a fixed batch already in [0,255], on a fresh thread as the
     * worker's (ND4J keeps per-thread state such as workspaces).
     */
    private double[] bare(BaseNetwork base, int res, int batch, int n) throws InterruptedException {
        return onFreshThread("bench-bare", () -> bareOnThisThread(base, res, batch, n));
    }

    /**
     * As many extractors side by side as the pipeline runs workers (own base copy and an even share of the OpenMP
     * threads each), timed together. {img/s, CPU-ms per image, -1}.
     */
    private double[] bareSideBySide(List<BaseNetwork> bases, int res, int batch, int n) throws InterruptedException {
        int w = bases.size();
        int each = roundUp(Math.max(batch, n / w), batch);
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(w + 1);
        List<Thread> threads = new ArrayList<>();
        RuntimeException[] failure = new RuntimeException[1];
        Nd4j.getEnvironment().setMaxThreads(threadsPerLane());
        try {
            for (BaseNetwork b : bases) {
                Thread t = new Thread(() -> {
                    try {
                        BaseNetworks.setOmpThreadsOfThisThread(threadsPerLane());
                        INDArray x = Nd4j.rand(DataType.FLOAT, batch, res, res, 3).muli(255.0);
                        for (int i = 0; i < Math.max(1, s.warmup()); i++) b.extract(x);
                        start.await();
                        for (int done = 0; done < each; done += batch) b.extract(x);
                    } catch (InterruptedException | java.util.concurrent.BrokenBarrierException e) {
                        Thread.currentThread().interrupt();
                    } catch (RuntimeException e) {
                        failure[0] = e;
                        start.reset();
                    }
                }, "bench-bare-side-by-side");
                threads.add(t);
                t.start();
            }
            try {
                start.await(10, TimeUnit.MINUTES);
            } catch (java.util.concurrent.BrokenBarrierException | java.util.concurrent.TimeoutException e) {
                threads.forEach(Thread::interrupt);
                throw new IllegalStateException("a side-by-side extractor failed: " + failure[0], failure[0]);
            }
            long cpu0 = cpuNanos();
            long t0 = System.nanoTime();
            for (Thread t : threads) t.join();
            double sec = (System.nanoTime() - t0) / 1e9;
            if (failure[0] != null) throw failure[0];
            return new double[] {(double) each * w / sec, (cpuNanos() - cpu0) / 1e6 / (each * w), -1};
        } finally {
            Nd4j.getEnvironment().setMaxThreads(s.threads());
        }
    }

    /**
     * Runs {@code work} on a new thread (as a worker's inference thread) and returns its result or rethrows its
     * failure; the thread, and its OpenMP pool, end with it.
     */
    private static <T> T onFreshThread(String name, java.util.function.Supplier<T> work) {
        return dev.graft.common.os.OneOffThread.call(name, work);
    }

    /** {img/s, CPU-ms per image, voluntary context switches per batch of this thread and its OpenMP helpers (-1 unknown)}. */
    private double[] bareOnThisThread(BaseNetwork base, int res, int batch, int n) {
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, res, res, 3).muli(255.0);
        for (int i = 0; i < s.warmup(); i++) base.extract(x);
        String self = kernelName(Thread.currentThread().getName());
        long switches0 = ThreadCpu.voluntarySwitches(self);
        long cpu0 = cpuNanos();
        long t0 = System.nanoTime();
        for (int done = 0; done < n; done += batch) base.extract(x);
        double sec = (System.nanoTime() - t0) / 1e9;
        double cpuMs = (cpuNanos() - cpu0) / 1e6 / n;
        long switches = switches0 < 0 ? -1 : ThreadCpu.voluntarySwitches(self) - switches0;
        return new double[] {n / sec, cpuMs, switches < 0 ? -1 : switches / (double) ((n + batch - 1) / batch)};
    }

    /** A Java thread's name as Linux keeps it (15 characters). */
    static String kernelName(String javaName) {
        return javaName.length() <= 15 ? javaName : javaName.substring(0, 15);
    }

    /** OpenMP threads of each inference lane of the pipeline workers, or of each parallel bare extractor: the budget split evenly. */
    private int threadsPerLane() {
        return Math.max(1, s.threads() / (s.pipelineWorkers() * s.pipelineLanes()));
    }

    /**
     * {@link #png} of one resolution, each made once. A 224 px noise PNG (151 KB) took ~8 ms to make here, so a
     * point spent ~2 s making its ~270 before every one of its bursts (not timed). Holds one resolution at a time.
     */
    static final class PngCache {
        private int res = -1;
        private final List<byte[]> made = new ArrayList<>();

        byte[] get(int size, int i) {
            if (size != res) {
                made.clear();
                res = size;
            }
            while (made.size() <= i) made.add(png(size, made.size()));
            return made.get(i);
        }
    }

    /** A deterministic noisy RGB PNG of {@code size}×{@code size} (the worker decodes it; no resize needed). */
    static byte[] png(int size, int seed) {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Random rnd = new Random(seed);
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) img.setRGB(x, y, rnd.nextInt(1 << 24));
        }
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", bos);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bos.toByteArray();
    }

    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean)
                java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** {VmRSS, VmHWM} in MB from /proc/self/status, -1 where unavailable. */
    static long[] memoryMb() {
        long[] r = {-1, -1};
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
                if (line.startsWith("VmRSS:")) r[0] = kbField(line) / 1024;
                if (line.startsWith("VmHWM:")) r[1] = kbField(line) / 1024;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: leave -1
        }
        return r;
    }

    private static long kbField(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }

    // ---------------------------------------------------------------- pure parts

    /** "96,224" → [96, 224]; positive, distinct integers; order kept. */
    public static List<Integer> parseIntList(String s, String what) {
        if (s == null || s.isBlank()) throw new IllegalArgumentException(what + ": empty list");
        List<Integer> r = new ArrayList<>();
        for (String part : s.split(",")) {
            String p = part.trim();
            int v;
            try {
                v = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(what + ": '" + p + "' is not a number");
            }
            if (v < 1) throw new IllegalArgumentException(what + ": " + v + " must be positive");
            if (r.contains(v)) throw new IllegalArgumentException(what + ": " + v + " given twice");
            r.add(v);
        }
        return List.copyOf(r);
    }

    /**
     * {@code n} rounded up to whole batches for each of {@code lanes} inference lanes (over all pipeline workers):
     * the work the bare side-by-side layout times, one extractor per lane. A burst of an odd number of batches on
     * two lanes ends with one lane idle for a whole forward pass: at 224 px batch 32 (9 batches of 1.25 s) that
     * was 10% of the burst, in the burst's tail, which a running worker fed by a stream does not have.
     */
    static int evenOverLanes(int n, int batch, int lanes) {
        return roundUp(n, batch * lanes);
    }

    static int roundUp(int n, int batch) {
        return (n + batch - 1) / batch * batch;
    }

    static Double ratio(Double num, Double den) {
        return num == null || den == null || den == 0 ? null : num / den;
    }

    /**
     * b/a is the ratio of the medians; "b/a pair" the median of the rounds' own ratios (a round's (a) and (b) ran
     * back to back, so a phase in which the machine is slower, such as hypervisor steal, hits both); "pair CI" the
     * sign test's interval for that median ({@link Run#pairedPipelineOverBareInterval}, its coverage in {@link
     * #intervalLegend}).
     */
    static final String HEADER = String.format(Locale.ROOT, "%-10s %5s %12s %15s %12s %8s %8s %9s %10s %12s %8s",
            "resolution", "batch", "bare img/s", "pipeline img/s", "torch img/s", "a/c", "b/a", "b/a pair", "pair CI",
            "dl4j img/s", "a/dl4j");

    static String tableRow(Run r) {
        MedianInterval ci = r.pairedPipelineOverBareInterval();
        return String.format(Locale.ROOT, "%-10d %5d %12s %15s %12s %8s %8s %9s %10s %12s %8s", r.resolution(),
                r.batch(), fmt(r.bareImgS(), 1), fmt(r.pipelineImgS(), 1), fmt(r.torchImgS(), 1),
                fmt(r.bareOverTorch(), 3), fmt(r.pipelineOverBare(), 2), fmt(r.pairedPipelineOverBare(), 2),
                ci == null ? "-" : fmt(ci.low(), 2) + "-" + fmt(ci.high(), 2), fmt(r.dl4jImgS(), 1),
                fmt(r.foldedOverDl4j(), 2));
    }

    /**
     * What the table's "pair CI" column covers, e.g. "pair CI: sign-test interval for the median of the rounds' b/a,
     * 96% coverage (9 rounds)"; null when no point has paired rounds.
     */
    static String intervalLegend(List<Run> runs) {
        java.util.SortedMap<Integer, Double> byRounds = new java.util.TreeMap<>();
        for (Run r : runs) {
            MedianInterval ci = r.pairedPipelineOverBareInterval();
            if (ci != null) byRounds.put(r.bareRuns().size(), ci.coverage());
        }
        if (byRounds.isEmpty()) return null;
        List<String> parts = new ArrayList<>();
        byRounds.forEach((n, c) -> parts.add(String.format(Locale.ROOT, "%.0f%% coverage (%d round%s)", 100 * c, n,
                n == 1 ? "" : "s")));
        return "pair CI: sign-test interval for the median of the rounds' b/a, " + String.join(", ", parts);
    }

    static String table(List<Run> runs) {
        StringBuilder sb = new StringBuilder(HEADER).append('\n');
        for (Run r : runs) sb.append(tableRow(r)).append('\n');
        return sb.toString().stripTrailing();
    }

    private static String fmt(Double v, int decimals) {
        return v == null ? "-" : String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    static Map<String, Object> toJson(Result r, Settings s) {
        List<Map<String, Object>> runs = new ArrayList<>();
        for (Run x : r.runs()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("resolution", x.resolution());
            m.put("batch", x.batch());
            m.put("bare_img_s", x.bareImgS());
            m.put("pipeline_img_s", x.pipelineImgS());
            m.put("torch_img_s", x.torchImgS());
            m.put("bare_over_torch", x.bareOverTorch());
            m.put("pipeline_over_bare", x.pipelineOverBare());
            m.put("pipeline_over_bare_paired", x.pairedPipelineOverBare());
            MedianInterval ci = x.pairedPipelineOverBareInterval();
            m.put("pipeline_over_bare_paired_low", ci == null ? null : ci.low());
            m.put("pipeline_over_bare_paired_high", ci == null ? null : ci.high());
            m.put("pipeline_over_bare_paired_coverage", ci == null ? null : ci.coverage());
            m.put("images", x.images());
            m.put("bare_cpu_ms_per_img", x.bareCpuMsPerImg());
            m.put("pipeline_cpu_ms_per_img", x.pipelineCpuMsPerImg());
            m.put("torch_cpu_ms_per_img", x.torchCpuMsPerImg());
            m.put("pipeline_first_commit_s", x.pipelineFirstCommitS());
            m.put("pipeline_steady_img_s", x.pipelineSteadyImgS());
            m.put("pipeline_cold_img_s", x.pipelineColdImgS());
            m.put("pipeline_join_s", x.pipelineJoinS());
            m.put("bare_img_s_repeats", x.bareRuns());
            m.put("pipeline_img_s_repeats", x.pipelineRuns());
            m.put("bare_steal_repeats", x.bareSteal());
            m.put("pipeline_steal_repeats", x.pipelineSteal());
            m.put("vm_rss_mb", x.vmRssMb());
            m.put("vm_hwm_mb", x.vmHwmMb());
            m.put("executor", x.executor());
            m.put("bare_dl4j_img_s", x.dl4jImgS());
            m.put("bare_dl4j_cpu_ms_per_img", x.dl4jCpuMsPerImg());
            m.put("bare_over_dl4j", x.foldedOverDl4j());
            runs.add(m);
        }
        List<Map<String, Object>> rss = new ArrayList<>();
        for (RssRun x : r.rss()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("resolution", x.resolution());
            m.put("batch", x.batch());
            m.put("images", x.images());
            m.put("executor", x.executor());
            m.put("img_s", x.imgS());
            m.put("vm_rss_start_mb", x.startMb());
            m.put("vm_rss_at_10pct_mb", x.tenPctMb());
            m.put("vm_rss_peak_mb", x.peakMb());
            m.put("vm_rss_end_mb", x.endMb());
            m.put("flat", x.flat());
            rss.add(m);
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("runs", runs);
        if (!rss.isEmpty()) root.put("rss", rss);
        root.put("executor", s.executor());
        root.put("decode_ahead", s.decodeAhead());
        root.put("commit_interval_ms", s.commitInterval().toMillis());
        if (s.queuedImages() == AUTO_QUEUED_IMAGES) {
            Map<String, Integer> byRes = new LinkedHashMap<>();
            for (int res : s.resolutions()) byRes.put(String.valueOf(res), queuedImages(s, res));
            root.put("queued_images", "auto");
            root.put("queued_images_by_resolution", byRes);
        } else {
            root.put("queued_images", s.queuedImages());
        }
        root.put("background_policy", s.backgroundPolicy().wire());
        root.put("background_nice", s.backgroundNice());
        root.put("broker_policy", s.brokerPolicy().wire());
        root.put("broker_nice", s.brokerNice());
        root.put("pipeline_workers", s.pipelineWorkers());
        root.put("pipeline_lanes", s.pipelineLanes());
        root.put("repeats", s.repeats());
        root.put("max_physical_bytes", System.getProperty("org.bytedeco.javacpp.maxphysicalbytes"));
        root.put("glibc_tunables", System.getenv("GLIBC_TUNABLES"));
        root.put("gomp_spincount", System.getenv("GOMP_SPINCOUNT"));
        root.put("base", s.baseSpec());
        root.put("base_id", r.baseId());
        root.put("cut", r.cut());
        root.put("threads", r.threads());
        root.put("warmup_batches", s.warmup());
        root.put("images_setting", s.images() == AUTO_IMAGES ? "auto " + s.autoSeconds() + " s" : String.valueOf(s.images()));
        root.put("worker_warm_up", s.workerWarmUp());
        root.put("pipeline_warm_up", s.pipelineWarmUp());
        root.put("torch", r.torchVersion());
        root.put("cpus", Runtime.getRuntime().availableProcessors());
        root.put("notes", r.notes());
        return root;
    }

    static String toJsonString(Result r, Settings s) {
        return Json.toPrettyString(toJson(r, s));
    }
}
