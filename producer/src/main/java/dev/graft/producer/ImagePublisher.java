package dev.graft.producer;

import dev.graft.common.contract.ImageHeaders;
import dev.graft.common.contract.Split;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Publishes images of a task to the images topic: key = image id (UTF-8), value = the encoded bytes,
 * headers {@link ImageHeaders#TASK}, {@link ImageHeaders#LABEL} (if labelled), {@link ImageHeaders#SPLIT},
 * {@link ImageHeaders#CONTENT_TYPE}. The split is the image's own, else
 * {@link Split#assign(String, double, double)} of its id, so re-publishing never moves an image.
 *
 * <p>Sends are asynchronous; every callback is accounted for. After the last image the producer is
 * flushed, and if any send failed (callback or synchronous), or the source failed, a
 * {@link PublishException} carrying the {@link PublishSummary} is thrown: nothing is lost silently.
 * The producer is not closed (the caller owns it). One {@code publish} at a time per instance.
 */
public final class ImagePublisher {
    /** How many failures a summary lists (all are counted). */
    public static final int MAX_FAILURES_KEPT = 100;

    private final Producer<byte[], byte[]> producer;
    private final String topic;
    private final double validationPercent;
    private final double testPercent;
    private volatile Run current;

    /** Live counters of a run, for progress bars. */
    public record Progress(long submitted, long acknowledged, long failed, long bytesAcknowledged, long expected) {
        public long completed() {
            return acknowledged + failed;
        }
    }

    /** Called on the publishing thread after every submitted record and once after the final flush. */
    @FunctionalInterface
    public interface ProgressListener {
        void onProgress(Progress progress);
    }

    /**
     * @param validationPercent share of hashed ids assigned to validation, e.g. 10
     * @param testPercent share of hashed ids assigned to test, e.g. 10 (0 when an official test set is given)
     */
    public ImagePublisher(Producer<byte[], byte[]> producer, String topic, double validationPercent, double testPercent) {
        this.producer = Objects.requireNonNull(producer, "producer");
        this.topic = Objects.requireNonNull(topic, "topic");
        Split.assign("check", validationPercent, testPercent); // validates the percentages
        this.validationPercent = validationPercent;
        this.testPercent = testPercent;
    }

    public String topic() {
        return topic;
    }

    /** The split an image is published under. */
    public Split splitOf(LabelledImage image) {
        return image.split() != null ? image.split() : Split.assign(image.id(), validationPercent, testPercent);
    }

    /** The record an image is published as. */
    public ProducerRecord<byte[], byte[]> toRecord(String task, LabelledImage image) {
        RecordHeaders headers = new RecordHeaders();
        ImageHeaders.put(headers, ImageHeaders.TASK, task);
        ImageHeaders.put(headers, ImageHeaders.LABEL, image.label());
        ImageHeaders.put(headers, ImageHeaders.SPLIT, splitOf(image).wire());
        ImageHeaders.put(headers, ImageHeaders.CONTENT_TYPE, image.contentType());
        return new ProducerRecord<>(topic, null, image.id().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                image.bytes(), headers);
    }

    /** Live progress of the current (or last) run; all zero before the first. Thread-safe. */
    public Progress progress() {
        Run r = current;
        return r == null ? new Progress(0, 0, 0, 0, -1) : r.progress();
    }

    public PublishSummary publish(String task, ImageSource source) {
        return publish(task, source, p -> { });
    }

    public PublishSummary publish(String task, ImageSource source, ProgressListener listener) {
        return publish(task, source, source.expectedCount(), listener);
    }

    /**
     * Publishes every image of {@code images}, then flushes.
     *
     * @param expected total for progress, or -1 if unknown
     * @return the summary when every image was acknowledged
     * @throws PublishException if any image failed or the source threw; its summary says what was sent
     */
    public synchronized PublishSummary publish(String task, Iterator<LabelledImage> images, long expected,
                                               ProgressListener listener) {
        if (task == null || task.isBlank()) {
            throw new IllegalArgumentException("task must not be blank");
        }
        Objects.requireNonNull(listener, "listener");
        Run run = new Run(task, expected);
        current = run;
        RuntimeException aborted = null;
        try {
            while (images.hasNext()) {
                LabelledImage img = images.next();
                ProducerRecord<byte[], byte[]> rec = toRecord(task, img);
                Split split = splitOf(img);
                run.submitted.incrementAndGet();
                try {
                    producer.send(rec, (md, e) -> run.complete(img, split, e));
                } catch (RuntimeException e) {
                    // Synchronous failures (closed producer, serialization, interrupt) are not per-record
                    // transient errors: stop, but still account for what was already sent.
                    run.complete(img, split, e);
                    throw e;
                }
                listener.onProgress(run.progress());
            }
        } catch (RuntimeException e) {
            aborted = e;
        } finally {
            try {
                producer.flush();
            } catch (RuntimeException e) {
                if (aborted == null) {
                    aborted = e;
                } else {
                    aborted.addSuppressed(e);
                }
            }
        }
        run.awaitCallbacks(Duration.ofSeconds(30));
        listener.onProgress(run.progress());
        PublishSummary summary = run.summary(topic);
        if (aborted != null) {
            throw new PublishException("publishing stopped after " + summary.submitted() + " images: " + aborted
                    + " (" + summary.sent() + " acknowledged, " + summary.failed() + " failed)", summary, aborted);
        }
        if (!summary.ok()) {
            PublishSummary.Failure first = summary.failures().isEmpty() ? null : summary.failures().get(0);
            long missing = summary.submitted() - summary.sent() - summary.failed();
            throw new PublishException((summary.submitted() - summary.sent()) + " of " + summary.submitted()
                    + " images were not published (" + summary.failed() + " failed"
                    + (missing > 0 ? ", " + missing + " never acknowledged" : "") + ")"
                    + (first == null ? "" : "; first: " + first.imageId() + ": " + first.error()), summary, null);
        }
        return summary;
    }

    /** State of one publish call; callbacks may run on the producer's I/O thread. */
    private static final class Run {
        final String task;
        final long expected;
        final long startNanos = System.nanoTime();
        final AtomicLong submitted = new AtomicLong();
        final AtomicLong acked = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        final AtomicLong bytes = new AtomicLong();
        final AtomicLong unlabelled = new AtomicLong();
        final Map<Split, LongAdder> perSplit = new EnumMap<>(Split.class);
        final ConcurrentHashMap<String, LongAdder> perLabel = new ConcurrentHashMap<>();
        final List<PublishSummary.Failure> failures = Collections.synchronizedList(new ArrayList<>());

        Run(String task, long expected) {
            this.task = task;
            this.expected = expected;
            for (Split s : Split.values()) {
                perSplit.put(s, new LongAdder());
            }
        }

        void complete(LabelledImage img, Split split, Exception e) {
            if (e != null) {
                synchronized (failures) {
                    if (failures.size() < MAX_FAILURES_KEPT) {
                        failures.add(new PublishSummary.Failure(img.id(), String.valueOf(e)));
                    }
                }
                failed.incrementAndGet();
            } else {
                perSplit.get(split).increment();
                if (img.label() == null) {
                    unlabelled.incrementAndGet();
                } else {
                    perLabel.computeIfAbsent(img.label(), k -> new LongAdder()).increment();
                }
                bytes.addAndGet(img.bytes().length);
                acked.incrementAndGet();
            }
            synchronized (this) {
                notifyAll();
            }
        }

        /** flush() returns after callbacks have run in KafkaProducer; this guards other Producer implementations. */
        synchronized void awaitCallbacks(Duration max) {
            long deadline = System.nanoTime() + max.toNanos();
            while (acked.get() + failed.get() < submitted.get()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return; // reported as missing acknowledgements by summary().ok()
                }
                try {
                    wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }

        Progress progress() {
            return new Progress(submitted.get(), acked.get(), failed.get(), bytes.get(), expected);
        }

        PublishSummary summary(String topic) {
            Map<Split, Long> splits = new EnumMap<>(Split.class);
            perSplit.forEach((k, v) -> splits.put(k, v.sum()));
            Map<String, Long> labels = new TreeMap<>();
            perLabel.forEach((k, v) -> labels.put(k, v.sum()));
            List<PublishSummary.Failure> fs;
            synchronized (failures) {
                fs = List.copyOf(failures);
            }
            return new PublishSummary(task, topic, submitted.get(), acked.get(), bytes.get(),
                    Collections.unmodifiableMap(splits), Collections.unmodifiableMap(labels), unlabelled.get(),
                    failed.get(), fs, Duration.ofNanos(System.nanoTime() - startNanos));
        }
    }
}
