package dev.graft.featureworker;

import dev.graft.common.contract.Topics;
import dev.graft.common.image.Resizer;
import java.time.Duration;
import java.util.Objects;

/**
 * Immutable, validated settings of one feature worker.
 *
 * @param groupId consumer group shared by all workers of one base; partitions of the images topic are
 *                spread over its members
 * @param workerId stable id of this worker; its transactional id derives from it, so a restarted worker
 *                 with the same id fences its predecessor and aborts its open transaction at once
 * @param batchSize images per forward pass (and per feature record of each task); a transaction holds one or more batches
 * @param maxBatchWait how long a partial batch may wait for more images before it is processed (padded to
 *                     {@code batchSize}: the base keeps buffers for one batch size, and the pass costs a full one's)
 * @param shutdownTimeout how long {@link FeatureWorker#close()} waits for the open batch
 * @param warmUp run one forward pass of {@code batchSize} blank images on the inference thread while the consumer
 *               joins its group. Off by default: in {@code graft bench features} (base already warm from the bare
 *               run) it did not shorten the time to the first commit (3 A/B pairs, 96 px batch 16, loaded machine)
 * @param retryBackoff pause after an aborted transaction before reading again
 * @param decodeAhead decode the next full batch on a second thread while the current one runs through the base
 *                    (off: decoding and the forward pass share the inference thread)
 * @param commitInterval how long a transaction stays open for more batches (as Kafka Streams'
 *                       {@code commit.interval.ms} under exactly-once): a batch's features are sent at once, the
 *                       transaction commits when it has been open this long or the worker has nothing in flight.
 *                       Zero commits every batch. Longer: fewer transactions (each costs the broker and the clients
 *                       a few round trips and log writes), later visibility downstream, more work redone after a
 *                       failure. At most {@link #MAX_COMMIT_INTERVAL}, well under the transaction timeout
 * @param ompThreads OpenMP threads of this worker's forward passes (set on each inference lane); 0 = the process
 *                   default ({@code OMP_NUM_THREADS}). Several workers in one process (or several processes) with
 *                   one thread each beat one worker with all cores on a small base: at 96 px, batch 16, 2 cores, two
 *                   single-threaded extractors ran 242-301 img/s against 126-202 for one with 2 threads
 * @param backgroundPolicy how everything the worker runs besides the forward pass yields to it: its poll thread (the
 *                         thread that calls {@link FeatureWorker#run()}, which stays lowered), the decode thread, the
 *                         Kafka clients' threads and the JVM's JIT compiler threads. The inference thread and its OpenMP
 *                         team keep the caller's priority, so on a machine the forward pass keeps busy, the Kafka side
 *                         runs in its gaps instead of pre-empting one OpenMP thread while its partners wait at the next
 *                         barrier. See {@link BackgroundPolicy}
 * @param backgroundNice the Linux nice value (0..19; 0 = leave priorities alone) of those threads under
 *                       {@link BackgroundPolicy#NICE}
 * @param queuedImages images handed to the inference thread at once (the running batch and those queued behind it,
 *                     decoded ahead), unless two batches hold more. The queue must outlast the poll thread's commit:
 *                     while {@code sendOffsetsToTransaction} and {@code commitTransaction} block it, nothing new is
 *                     handed over. Under a forward pass that keeps every core busy, the worker's background threads
 *                     and (in {@code graft bench features}) the embedded broker get little CPU, and sending the offsets
 *                     took 100-530 ms at 96 px batch 1 (3-11 ms with the cores idle): 32 queued images (0.3 s of forward
 *                     passes there) ran dry during most commits. More costs memory: one pooled pixel buffer per queued
 *                     batch (0.6 MB per image at 224 px, 0.1 MB at 96), and more work discarded and redone after a
 *                     rebalance or an aborted transaction. Twentieth session, with the broker on the same 2 cores
 *                     under {@code SCHED_IDLE} ({@code graft bench features}): {@code sendOffsetsToTransaction} took
 *                     ~0.5 s at 96 px batch 1 and returned within a few ms of the lanes running dry, every time, so
 *                     each queueful of 128 images (0.44 s there) ended in a dry spell of 10-30 ms; {@link
 *                     #queuedImagesFor} gives the default per input size
 * @param lanes inference threads, each with its own copy of the base, its own input array and {@code ompThreads}
 *              OpenMP threads, taking queued batches in order from one queue; they share the worker's consumer,
 *              producer, transactions, decode thread and pixel buffers, and finished batches are sent in the order they
 *              were queued. On a small base, lanes of one OpenMP thread each use the cores as well as that many
 *              single-threaded workers with one Kafka side instead of several (README, Benchmarks)
 */
public record FeatureWorkerOptions(Topics topics, String groupId, String workerId, int batchSize,
                                   Duration maxBatchWait, Duration shutdownTimeout, Duration retryBackoff,
                                   boolean warmUp, boolean decodeAhead, Duration commitInterval, int ompThreads,
                                   BackgroundPolicy backgroundPolicy, int backgroundNice, int queuedImages,
                                   int lanes) {

    /** How the worker's background threads yield to its forward pass (Linux; elsewhere they run at equal priority). */
    public enum BackgroundPolicy {
        /**
         * {@code SCHED_IDLE}: they run only on a core nothing else wants, and a forward-pass thread that wakes takes its
         * core back at once. Under nice 10 a woken OpenMP thread could wait for the running background thread's
         * time slice; at batch 1 and 224 px the forward pass took 32-33.5 ms per batch in the pipeline under nice
         * 10 and 28.7-31 under SCHED_IDLE (README, Benchmarks). The price: on a machine kept busy by other
         * processes too, the worker's Kafka side gets only what they leave.
         */
        IDLE,
        /** The nice value {@link FeatureWorkerOptions#backgroundNice()} (10: about a tenth of a core's share against a busy forward pass). */
        NICE;

        /** The policy named {@code name} ("idle", "nice"; case ignored), or an error that lists them. */
        public static BackgroundPolicy parse(String name) {
            for (BackgroundPolicy p : values()) {
                if (p.name().equalsIgnoreCase(name == null ? "" : name.trim())) return p;
            }
            throw new IllegalArgumentException("background policy must be idle or nice, got '" + name + "'");
        }

        /** The lower-case name used by the command line and in JSON. */
        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public static final BackgroundPolicy DEFAULT_BACKGROUND_POLICY = BackgroundPolicy.IDLE;

    public static final Duration DEFAULT_COMMIT_INTERVAL = Duration.ofMillis(100);
    public static final Duration MAX_COMMIT_INTERVAL = Duration.ofSeconds(30);
    /** Nice 10: the Kafka side gets ~1/10 of a core's share against a busy forward pass, not 1/2 (README, Benchmarks). */
    public static final int DEFAULT_BACKGROUND_NICE = 10;
    public static final int MAX_NICE = 19;

    /**
     * The fewest images the default queue holds ({@link #queuedImagesFor}): 1.6-2 s of forward passes at 224 px and
     * batch 1 on 2 cores here, and what an explicit {@code --queued-images} defaulted to up to the twentieth session.
     */
    public static final int DEFAULT_QUEUED_IMAGES = 128;
    public static final int MAX_QUEUED_IMAGES = 4096;
    /**
     * Pixel memory the default queue may hold: {@link #DEFAULT_QUEUED_IMAGES} images at 224 px (float RGB, 77 MB).
     * What the queue must outlast is a time (the poll thread's commit), and an image's forward pass takes about as
     * long, and its pixels as much memory, as its pixel count says; so a queue sized by pixels covers about the same
     * time at every input size for the same memory, where a fixed count of 128 covered 0.44 s at 96 px
     */
    public static final long QUEUED_PIXEL_BYTES = DEFAULT_QUEUED_IMAGES * pixelBytes(224);
    /** Each lane holds its own copy of the base (14 MB of weights for MobileNetV2, 95 MB for InceptionV3). */
    public static final int MAX_LANES = 64;

    /** Keeps one Arrow batch (256 x 2048 floats = 2 MiB) well under Topics.MAX_MESSAGE_BYTES. */
    public static final int MAX_BATCH = 256;

    public FeatureWorkerOptions {
        Objects.requireNonNull(topics, "topics");
        requireText(groupId, "groupId");
        requireText(workerId, "workerId");
        if (batchSize < 1 || batchSize > MAX_BATCH) {
            throw new IllegalArgumentException("batch size must be in 1.." + MAX_BATCH + ", got " + batchSize);
        }
        requirePositive(maxBatchWait, "maxBatchWait");
        requirePositive(shutdownTimeout, "shutdownTimeout");
        requirePositive(retryBackoff, "retryBackoff");
        requireCommitInterval(commitInterval);
        if (ompThreads < 0 || ompThreads > 1024) {
            throw new IllegalArgumentException("OpenMP threads must be in 0..1024 (0 = process default), got " + ompThreads);
        }
        Objects.requireNonNull(backgroundPolicy, "backgroundPolicy");
        requireBackgroundNice(backgroundNice);
        requireQueuedImages(queuedImages);
        requireLanes(lanes);
    }

    /** Without the warm-up pass, with decode-ahead and the default commit interval. */
    public FeatureWorkerOptions(Topics topics, String groupId, String workerId, int batchSize, Duration maxBatchWait,
                                Duration shutdownTimeout, Duration retryBackoff) {
        this(topics, groupId, workerId, batchSize, maxBatchWait, shutdownTimeout, retryBackoff, false, true,
                DEFAULT_COMMIT_INTERVAL, 0, DEFAULT_BACKGROUND_POLICY, DEFAULT_BACKGROUND_NICE, DEFAULT_QUEUED_IMAGES, 1);
    }

    public static FeatureWorkerOptions defaults(Topics topics, String groupId, String workerId) {
        return new FeatureWorkerOptions(topics, groupId, workerId, 16, Duration.ofMillis(500),
                Duration.ofSeconds(30), Duration.ofSeconds(1), false, true, DEFAULT_COMMIT_INTERVAL, 0,
                DEFAULT_BACKGROUND_POLICY, DEFAULT_BACKGROUND_NICE, DEFAULT_QUEUED_IMAGES, 1);
    }

    public FeatureWorkerOptions withBatchSize(int n) {
        return new FeatureWorkerOptions(topics, groupId, workerId, n, maxBatchWait, shutdownTimeout, retryBackoff, warmUp,
                decodeAhead, commitInterval, ompThreads, backgroundPolicy, backgroundNice, queuedImages, lanes);
    }

    public FeatureWorkerOptions withWarmUp(boolean on) {
        return new FeatureWorkerOptions(topics, groupId, workerId, batchSize, maxBatchWait, shutdownTimeout, retryBackoff, on,
                decodeAhead, commitInterval, ompThreads, backgroundPolicy, backgroundNice, queuedImages, lanes);
    }

    public FeatureWorkerOptions withDecodeAhead(boolean on) {
        return new FeatureWorkerOptions(topics, groupId, workerId, batchSize, maxBatchWait, shutdownTimeout, retryBackoff,
                warmUp, on, commitInterval, ompThreads, backgroundPolicy, backgroundNice, queuedImages, lanes);
    }

    public FeatureWorkerOptions withCommitInterval(Duration d) {
        return new FeatureWorkerOptions(topics, groupId, workerId, batchSize, maxBatchWait, shutdownTimeout, retryBackoff,
                warmUp, decodeAhead, d, ompThreads, backgroundPolicy, backgroundNice, queuedImages, lanes);
    }

    public FeatureWorkerOptions withOmpThreads(int n) {
        return new FeatureWorkerOptions(topics, groupId, workerId, batchSize, maxBatchWait, shutdownTimeout, retryBackoff,
                warmUp, decodeAhead, commitInterval, n, backgroundPolicy, backgroundNice, queuedImages, lanes);
    }

    /** Policy {@link BackgroundPolicy#NICE} with this nice value (0 leaves priorities alone). */
    public FeatureWorkerOptions withBackgroundNice(int nice) {
        return new FeatureWorkerOptions(topics, groupId, workerId, batchSize, maxBatchWait, shutdownTimeout, retryBackoff,
                warmUp, decodeAhead, commitInterval, ompThreads, BackgroundPolicy.NICE, nice, queuedImages, lanes);
    }

    public FeatureWorkerOptions withBackgroundPolicy(BackgroundPolicy policy) {
        return new FeatureWorkerOptions(topics, groupId, workerId, batchSize, maxBatchWait, shutdownTimeout, retryBackoff,
                warmUp, decodeAhead, commitInterval, ompThreads, policy, backgroundNice, queuedImages, lanes);
    }

    public FeatureWorkerOptions withQueuedImages(int n) {
        return new FeatureWorkerOptions(topics, groupId, workerId, batchSize, maxBatchWait, shutdownTimeout, retryBackoff,
                warmUp, decodeAhead, commitInterval, ompThreads, backgroundPolicy, backgroundNice, n, lanes);
    }

    public FeatureWorkerOptions withLanes(int n) {
        return new FeatureWorkerOptions(topics, groupId, workerId, batchSize, maxBatchWait, shutdownTimeout, retryBackoff,
                warmUp, decodeAhead, commitInterval, ompThreads, backgroundPolicy, backgroundNice, queuedImages, n);
    }

    /** Throws {@link IllegalArgumentException} unless {@code n} is in 1..{@link #MAX_LANES}. */
    public static void requireLanes(int n) {
        if (n < 1 || n > MAX_LANES) {
            throw new IllegalArgumentException("inference lanes must be in 1.." + MAX_LANES + ", got " + n);
        }
    }

    /** Throws {@link IllegalArgumentException} unless {@code nice} is in 0..{@link #MAX_NICE}. */
    public static void requireBackgroundNice(int nice) {
        if (nice < 0 || nice > MAX_NICE) {
            throw new IllegalArgumentException("background nice must be in 0.." + MAX_NICE + " (0 = off), got " + nice);
        }
    }

    /**
     * The default {@link #queuedImages()} for a base of {@code inputSize} px: as many images as
     * {@link #QUEUED_PIXEL_BYTES} of pixels hold, at least {@link #DEFAULT_QUEUED_IMAGES}, at most
     * {@link #MAX_QUEUED_IMAGES} (224 px and larger: 128; 96 px: 696; 28 px: 4096).
     */
    public static int queuedImagesFor(int inputSize) {
        if (inputSize < 1) throw new IllegalArgumentException("input size must be >= 1, got " + inputSize);
        return (int) Math.max(DEFAULT_QUEUED_IMAGES, Math.min(MAX_QUEUED_IMAGES, QUEUED_PIXEL_BYTES / pixelBytes(inputSize)));
    }

    /** An image's float RGB pixels as the featurizer buffers them. */
    private static long pixelBytes(int size) {
        return (long) Resizer.floatsPerImage(size) * Float.BYTES;
    }

    /**
     * A {@code --queued-images} value: {@code auto} gives {@code null} (the caller applies {@link #queuedImagesFor}
     * once it knows the base's input size), else a number in 1..{@link #MAX_QUEUED_IMAGES}.
     *
     * @throws IllegalArgumentException saying what is wrong with {@code text}
     */
    public static Integer parseQueuedImages(String text) {
        if (text == null || text.isBlank()) throw new IllegalArgumentException("must be a number in 1.." + MAX_QUEUED_IMAGES + " or auto, got nothing");
        if (text.strip().equalsIgnoreCase("auto")) return null;
        int n;
        try {
            n = Integer.parseInt(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("must be a number in 1.." + MAX_QUEUED_IMAGES + " or auto, got '" + text + "'");
        }
        if (n < 1 || n > MAX_QUEUED_IMAGES) {
            throw new IllegalArgumentException("must be in 1.." + MAX_QUEUED_IMAGES + " or auto, got " + n);
        }
        return n;
    }

    /** Throws {@link IllegalArgumentException} unless {@code n} is in 1..{@link #MAX_QUEUED_IMAGES}. */
    public static void requireQueuedImages(int n) {
        if (n < 1 || n > MAX_QUEUED_IMAGES) {
            throw new IllegalArgumentException("queued images must be in 1.." + MAX_QUEUED_IMAGES + ", got " + n);
        }
    }

    /** Throws {@link IllegalArgumentException} unless {@code d} is in [0, {@link #MAX_COMMIT_INTERVAL}]. */
    public static void requireCommitInterval(Duration d) {
        if (d == null || d.isNegative() || d.compareTo(MAX_COMMIT_INTERVAL) > 0) {
            throw new IllegalArgumentException("commit interval must be in [0, " + MAX_COMMIT_INTERVAL.toSeconds() + "s], got " + d);
        }
    }

    public String transactionalId() {
        return "graft-feature-worker-" + workerId;
    }

    private static void requireText(String s, String name) {
        if (s == null || s.isBlank()) {
            throw new IllegalArgumentException(name + " must not be blank");
        }
    }

    private static void requirePositive(Duration d, String name) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be a positive duration, got " + d);
        }
    }
}
