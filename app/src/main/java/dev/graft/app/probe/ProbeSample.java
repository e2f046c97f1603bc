package dev.graft.app.probe;

import dev.graft.common.contract.ImageHeaders;
import dev.graft.common.contract.Split;
import dev.graft.producer.ImageSource;
import dev.graft.producer.LabelledImage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * The labelled images a probe trains and scores on: encoded bytes, label and split (train or validation; test
 * images are left out, they stay unseen). Read from an {@link ImageSource} (IDX files, class folders) or from the
 * images topic.
 *
 * @param images the sample, in reading order
 * @param description where it came from, for the report's title
 */
public record ProbeSample(List<Image> images, String description) {

    /** One labelled image; {@code validation} false = training. */
    public record Image(String id, String label, boolean validation, byte[] bytes) {
        public Image {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(label, "label");
            Objects.requireNonNull(bytes, "bytes");
        }
    }

    public ProbeSample {
        images = List.copyOf(images);
    }

    public long trainCount() {
        return images.stream().filter(i -> !i.validation()).count();
    }

    public long validationCount() {
        return images.stream().filter(Image::validation).count();
    }

    /**
     * Up to {@code limit} labelled images of a source, split by the hash of the id ({@link Split#assign} with
     * {@code validationPercent} and no test share). The whole source is read and the {@code limit} images with the
     * smallest stable draw (a hash of the id, independent of the split's) are kept, in reading order: a uniform
     * sample of exactly {@code min(limit, labelled images)}, spread over the whole source, so a class-sorted folder
     * still gives every class. At most {@code limit + 1} images are held at a time.
     */
    public static ProbeSample fromSource(ImageSource source, int limit, double validationPercent) {
        requireLimit(limit);
        // Largest draw first: the head is the one to give up when over the limit.
        PriorityQueue<Drawn> kept = new PriorityQueue<>(Comparator.comparingDouble(Drawn::draw).reversed());
        long seq = 0;
        while (source.hasNext()) {
            LabelledImage img = source.next();
            if (img.label() == null) continue;
            boolean validation = Split.assign(img.id(), validationPercent, 0) == Split.VALIDATION;
            kept.add(new Drawn(Split.percentile("probe-sample:" + img.id()), seq++,
                    new Image(img.id(), img.label(), validation, img.bytes())));
            if (kept.size() > limit) kept.poll();
        }
        List<Drawn> inOrder = new ArrayList<>(kept);
        inOrder.sort(Comparator.comparingLong(Drawn::seq));
        List<Image> out = inOrder.stream().map(Drawn::image).toList();
        return new ProbeSample(out, source.describe() + ", validation " + fmt(validationPercent) + "% by id hash");
    }

    private record Drawn(double draw, long seq, Image image) {}

    /**
     * The first {@code limit} labelled train and validation images of {@code task} on the images topic, read from
     * the beginning of every partition up to the end offsets found at the start (read_committed, no consumer
     * group). The split is the record's {@code graft.split} header (or assigned by hash as the feature worker
     * does when it is missing).
     */
    public static ProbeSample fromTopic(Supplier<Consumer<byte[], byte[]>> consumers, String topic, String task, int limit,
                                        Duration timeout) {
        requireLimit(limit);
        Objects.requireNonNull(task, "task");
        List<Image> out = new ArrayList<>();
        int skippedTest = 0;
        try (Consumer<byte[], byte[]> consumer = consumers.get()) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
            if (infos == null || infos.isEmpty()) throw new IllegalArgumentException("topic " + topic + " does not exist");
            List<TopicPartition> parts = infos.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = new HashMap<>(consumer.endOffsets(parts, timeout));
            end.entrySet().removeIf(e -> consumer.position(e.getKey(), timeout) >= e.getValue());
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!end.isEmpty() && out.size() < limit) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(500));
                if (records.isEmpty() && System.nanoTime() > deadline) {
                    throw new IllegalStateException("reading " + topic + " stalled for " + timeout.toSeconds() + " s with "
                            + out.size() + " images read");
                }
                if (!records.isEmpty()) deadline = System.nanoTime() + timeout.toNanos();
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    if (out.size() >= limit) break;
                    Optional<Split> split = labelledSplit(r, task);
                    if (split.isEmpty()) continue;
                    if (split.get() == Split.TEST) {
                        skippedTest++;
                        continue;
                    }
                    out.add(new Image(new String(r.key(), StandardCharsets.UTF_8),
                            ImageHeaders.get(r.headers(), ImageHeaders.LABEL).orElseThrow(),
                            split.get() == Split.VALIDATION, r.value()));
                }
                end.entrySet().removeIf(e -> consumer.position(e.getKey(), timeout) >= e.getValue());
            }
        }
        return new ProbeSample(out, "topic " + topic + ", task " + task + ", split from the records' headers"
                + (skippedTest > 0 ? " (" + skippedTest + " test images left out)" : ""));
    }

    /** The split of a labelled image record of {@code task}; empty for other tasks, unlabelled or keyless records. */
    static Optional<Split> labelledSplit(ConsumerRecord<byte[], byte[]> r, String task) {
        if (r.key() == null || r.key().length == 0 || r.value() == null) return Optional.empty();
        if (!task.equals(ImageHeaders.get(r.headers(), ImageHeaders.TASK).orElse(null))) return Optional.empty();
        if (ImageHeaders.get(r.headers(), ImageHeaders.LABEL).isEmpty()) return Optional.empty();
        Optional<String> header = ImageHeaders.get(r.headers(), ImageHeaders.SPLIT);
        try {
            return Optional.of(header.isPresent() ? Split.parse(header.get())
                    : Split.assign(new String(r.key(), StandardCharsets.UTF_8), 10, 10));
        } catch (IllegalArgumentException unknownSplit) {
            return Optional.empty();   // the feature worker dead-letters such records; the probe just skips them
        }
    }

    private static void requireLimit(int limit) {
        if (limit < 2) throw new IllegalArgumentException("--images must be at least 2, got " + limit);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
