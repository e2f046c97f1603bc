package dev.graft.app;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.TopicAdmin;
import dev.graft.featureworker.FeatureWorker;
import dev.graft.featureworker.FeatureWorkerOptions;
import dev.graft.producer.ImagePublisher;
import dev.graft.producer.LabelledImage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.function.ToLongFunction;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * (b) of {@code graft bench features}: feature workers measured on bursts. The bench starts one rig for a grid
 * point's warm-up bursts and a fresh one for each timed round (after the first rig, the JIT has compiled the code;
 * closing a rig ends its inference threads and their OpenMP pools, which would throttle the bare base timed
 * between two bursts). The workers start and join their group once per rig; each burst is N images published in
 * one transaction, so the workers
 * (reading {@code read_committed}) see all N at once when it commits, and the burst is timed from that commit to
 * N committed features. What is timed is a running worker's throughput; its start (group join, the clients' and
 * the worker's one-off setup, which compiled for seconds in the JIT on every fresh worker here) is measured once and
 * reported apart, as the bare base's load and warm-up batches are.
 *
 * <p>With W workers the images topic has W partitions and a burst's images go round-robin over them, so no worker
 * idles at a burst's end for want of work; each worker has its own base copy, one per inference lane.
 */
final class PipelineRig implements AutoCloseable {
    private static final long BURST_TIMEOUT_NANOS = TimeUnit.MINUTES.toNanos(20);
    /** The workers' inference threads and their OpenMP helpers, as Linux names them ("graft-inference-…", cut). */
    static final String INFERENCE_THREADS = "graft-inferenc";

    /**
     * One timed burst. {@code imgS}: images per second from the publishing commit to the last committed feature
     * (b); {@code firstCommitS}: seconds from that commit to the first committed batch; {@code cpuMsPerImg}: process
     * CPU-ms per image over the burst (broker included); {@code steadyImgS}: images per second after the first
     * committed batch (0 with one batch); {@code jitCpuMs}: CPU-ms of the JIT compiler threads over the burst (-1
     * where threads' CPU cannot be read); {@code described}: the inference threads' time split and the CPU by thread
     * group, as printed.
     */
    record Burst(double imgS, double firstCommitS, double cpuMsPerImg, double steadyImgS, double jitCpuMs,
                 List<String> described) {}

    private final List<FeatureWorker> workers = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final int partitions;
    /** Inference lanes of each worker. */
    private final int lanesEach;
    private final int batch;
    private final String label;
    private final KafkaSettings kafka;
    private final Topics topics;
    private Producer<byte[], byte[]> publisher;
    private ImagePublisher records;
    private double joinSeconds;
    private int bursts;
    /** Released by the workers' poll threads after each committed batch: the waiting thread wakes then, not on a timer. */
    private final java.util.concurrent.Semaphore committed = new java.util.concurrent.Semaphore(0);

    /**
     * Creates the topics, starts one worker per {@code lanesEach} bases (one inference lane per base) and waits until
     * every one holds a partition.
     *
     * @param tune applied to each worker's defaults (batch size, commit interval, OpenMP threads, ...)
     */
    PipelineRig(KafkaSettings kafka, List<BaseNetwork> bases, int lanesEach, int res, int batch,
                java.util.function.UnaryOperator<FeatureWorkerOptions> tune) throws InterruptedException {
        if (lanesEach < 1 || bases.size() % lanesEach != 0) {
            throw new IllegalArgumentException(bases.size() + " bases do not make workers of " + lanesEach + " lanes");
        }
        this.lanesEach = lanesEach;
        this.partitions = bases.size() / lanesEach;
        this.batch = batch;
        this.label = res + "px batch " + batch;
        String prefix = "bench-" + res + "-" + batch + "-" + System.nanoTime() + ".";
        this.kafka = kafka;
        this.topics = Topics.withPrefix(prefix);
        try (Admin admin = kafka.admin()) {
            TopicAdmin.ensureTopics(admin, topics, partitions);
        }
        try {
            for (int i = 0; i < partitions; i++) {
                FeatureWorkerOptions o = tune.apply(FeatureWorkerOptions.defaults(topics, prefix + "features",
                        "bench-" + res + "-" + batch + "-" + i).withBatchSize(batch).withLanes(lanesEach));
                FeatureWorker w = FeatureWorker.create(o, kafka, bases.subList(i * lanesEach, (i + 1) * lanesEach));
                w.onBatch((featurized, dead, nanos) -> committed.release());
                workers.add(w);
                Thread t = new Thread(w, "bench-feature-worker-" + i);
                t.setDaemon(true);
                threads.add(t);
            }
            long t0 = System.nanoTime();
            threads.forEach(Thread::start);
            while (workers.stream().anyMatch(w -> w.assignment().isEmpty())) {
                checkAlive();
                if (System.nanoTime() - t0 > TimeUnit.MINUTES.toNanos(2)) {
                    throw new IllegalStateException(label + ": the bench workers did not all join within 2 min");
                }
                Thread.sleep(2);
            }
            joinSeconds = (System.nanoTime() - t0) / 1e9;
            publisher = kafka.transactionalImageProducer(prefix + "publisher");
            records = new ImagePublisher(publisher, topics.images(), 0, 0);
        } catch (RuntimeException | InterruptedException e) {
            close();
            throw e;
        }
    }

    /** Seconds from the workers' start until every one held a partition of the images topic. */
    double joinSeconds() {
        return joinSeconds;
    }

    int workers() {
        return workers.size();
    }

    /** Inference lanes of all workers together. */
    int lanes() {
        return workers.size() * lanesEach;
    }

    /**
     * Publishes {@code n} images ({@code image.apply(i)}) in one transaction, then times the workers from its commit
     * to {@code n} more committed features.
     */
    Burst burst(int n, IntFunction<byte[]> image, int ompThreadsEach) throws InterruptedException {
        int id = ++bursts;
        publisher.beginTransaction();
        for (int i = 0; i < n; i++) {
            ProducerRecord<byte[], byte[]> r = records.toRecord("bench",
                    new LabelledImage("b" + id + "-img-" + i, image.apply(i), "image/png", null, null));
            publisher.send(new ProducerRecord<>(r.topic(), i % partitions, r.key(), r.value(), r.headers()));
        }
        publisher.flush(); // the bytes are on the broker before the clock starts; only the commit is timed
        long done0 = done();
        long batches0 = sum(FeatureWorker::batchCount);
        FeatureWorker.InferenceTime[] inf0 = workers.stream().map(FeatureWorker::inferenceTime)
                .toArray(FeatureWorker.InferenceTime[]::new);
        FeatureWorker.CommitTime[] commit0 = workers.stream().map(FeatureWorker::commitTime)
                .toArray(FeatureWorker.CommitTime[]::new);
        Map<Integer, ThreadCpu.Sample> threads0 = ThreadCpu.snapshot();
        long cpu0 = FeatureBench.cpuNanos();
        long switches0 = ThreadCpu.voluntarySwitches(INFERENCE_THREADS);
        committed.drainPermits();
        long t0 = System.nanoTime();
        publisher.commitTransaction();
        long first = -1;
        while (done() - done0 < n) {
            // polling here (every 2 ms before) cost ~0.1 CPU-ms per image on the cores the pipeline runs on
            boolean woke = committed.tryAcquire(100, TimeUnit.MILLISECONDS);
            if (woke && first < 0) first = System.nanoTime();
            checkAlive();
            if (System.nanoTime() - t0 > BURST_TIMEOUT_NANOS) throw new IllegalStateException(label + ": burst timed out");
        }
        long end = System.nanoTime();
        long switches = switches0 < 0 ? -1 : ThreadCpu.voluntarySwitches(INFERENCE_THREADS) - switches0;
        double sec = (end - t0) / 1e9;
        double cpuMs = (FeatureBench.cpuNanos() - cpu0) / 1e6 / n;
        Map<String, Double> byThread = ThreadCpu.msByGroup(threads0, ThreadCpu.snapshot());
        long dead = sum(FeatureWorker::deadLetterCount);
        if (dead > 0) throw new IllegalStateException(dead + " bench images were dead-lettered");
        long decode = 0, forward = 0, encode = 0, decodedHere = 0;
        for (int i = 0; i < workers.size(); i++) {
            FeatureWorker.InferenceTime now = workers.get(i).inferenceTime();
            decodedHere += now.decodedHereBatches() - inf0[i].decodedHereBatches();
            decode += now.decodeNanos() - inf0[i].decodeNanos();
            forward += now.forwardNanos() - inf0[i].forwardNanos();
            encode += now.encodeNanos() - inf0[i].encodeNanos();
        }
        long nBatches = Math.max(1, sum(FeatureWorker::batchCount) - batches0);
        double busy = (decode + forward + encode) / (sec * 1e9 * lanes());
        List<String> described = new ArrayList<>();
        described.add(String.format(Locale.ROOT, "%s pipeline (%d worker%s) inference thread per batch: decode %.1f ms "
                        + "(%d of %d batches decoded there, not ahead), forward %.1f ms, encode %.1f ms (%.0f%% busy)%s",
                label, workers.size(), (workers.size() == 1 ? "" : "s") + (lanesEach == 1 ? "" : ", " + lanesEach + " lanes each")
                        + (lanes() == 1 ? "" : ", " + ompThreadsEach + " OpenMP thread(s) per lane"),
                decode / 1e6 / nBatches, decodedHere, nBatches,
                forward / 1e6 / nBatches, encode / 1e6 / nBatches, 100 * busy, switches < 0 ? ""
                        : String.format(Locale.ROOT, ", %.1f voluntary context switches per batch with its OpenMP "
                                + "helpers", (double) switches / nBatches)));
        long commits = 0, commitNanos = 0, longest = 0;
        for (int i = 0; i < workers.size(); i++) {
            FeatureWorker.CommitTime now = workers.get(i).commitTime();
            commits += now.commits() - commit0[i].commits();
            commitNanos += now.nanos() - commit0[i].nanos();
            longest = Math.max(longest, now.longestNanos());
        }
        if (commits > 0) {
            described.add(String.format(Locale.ROOT, "%s pipeline poll thread committing (offsets and commit): %d commits, "
                    + "%.1f ms each (the longest since the workers started %.1f ms)", label, commits,
                    commitNanos / 1e6 / commits, longest / 1e6));
        }
        if (!byThread.isEmpty()) {
            described.add(String.format(Locale.ROOT, "%s pipeline CPU-ms per image by thread: %s", label,
                    ThreadCpu.perImage(byThread, n, 8)));
        }
        if (first < 0) first = end;
        double steady = n > batch && end > first ? (n - batch) / ((end - first) / 1e9) : 0;
        double jit = threads0.isEmpty() ? -1 : byThread.getOrDefault(ThreadCpu.JIT, 0.0);
        return new Burst(n / sec, (first - t0) / 1e9, cpuMs, steady, jit, described);
    }

    /** Committed images of each worker, in start order. */
    List<Long> featurizedByWorker() {
        return workers.stream().map(FeatureWorker::featurizedCount).toList();
    }

    /** Images featurized or dead-lettered by the workers, committed. */
    private long done() {
        return sum(FeatureWorker::featurizedCount) + sum(FeatureWorker::deadLetterCount);
    }

    private long sum(ToLongFunction<FeatureWorker> f) {
        return workers.stream().mapToLong(f).sum();
    }

    private void checkAlive() {
        for (Thread t : threads) {
            if (!t.isAlive()) throw new IllegalStateException(t.getName() + " stopped early (" + label + ")");
        }
    }

    /**
     * Stops the workers and waits for their threads (so their inference threads, and with them their OpenMP pools,
     * are gone: see {@link dev.graft.common.os.OneOffThread}), then deletes the rig's topics.
     *
     * @throws IllegalStateException if a worker thread is still alive after 30 s
     */
    @Override
    public void close() throws InterruptedException {
        if (publisher != null) publisher.close(Duration.ofSeconds(10));
        for (FeatureWorker w : workers) w.close();
        for (Thread t : threads) t.join(TimeUnit.SECONDS.toMillis(30));
        for (Thread t : threads) {
            if (t.isAlive()) throw new IllegalStateException(t.getName() + " did not stop within 30 s (" + label + ")");
        }
        try (Admin admin = kafka.admin()) {
            admin.deleteTopics(topics.all()).all().get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException(label + ": cannot delete the rig's topics: " + e, e);
        }
    }
}
