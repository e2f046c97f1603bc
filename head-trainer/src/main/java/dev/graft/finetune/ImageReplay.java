package dev.graft.finetune;

import dev.graft.common.contract.ImageHeaders;
import dev.graft.common.contract.Split;
import dev.graft.common.image.ImageDecoder;
import dev.graft.common.image.RgbImage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a task's labelled train and validation images from the images topic (from the beginning up to the end
 * offsets seen when the replay starts, {@code read_committed}) and decodes them again. Images without a label,
 * with a label the head does not know, or that do not decode are skipped (counted).
 */
public final class ImageReplay {
    private static final Logger log = LoggerFactory.getLogger(ImageReplay.class);
    private static final Duration POLL = Duration.ofMillis(200);

    /** @param skipped images of the task left out (no/unknown label, undecodable) */
    public record Splits(LabelledImages train, LabelledImages validation, int skipped) {}

    private ImageReplay() {}

    /** @param consumer a group-less consumer (assign/seek only); closed by the caller */
    public static Splits read(Consumer<byte[], byte[]> consumer, String imagesTopic, String task, List<String> labels) {
        List<TopicPartition> parts = consumer.partitionsFor(imagesTopic, Duration.ofSeconds(10)).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
        Map<TopicPartition, Long> end = consumer.endOffsets(parts);
        ImageDecoder decoder = new ImageDecoder();
        Map<Split, List<RgbImage>> images = new EnumMap<>(Split.class);
        Map<Split, List<Integer>> ys = new EnumMap<>(Split.class);
        for (Split s : List.of(Split.TRAIN, Split.VALIDATION)) {
            images.put(s, new ArrayList<>());
            ys.put(s, new ArrayList<>());
        }
        int skipped = 0;
        while (!caughtUp(consumer, end)) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                if (r.offset() >= end.get(new TopicPartition(r.topic(), r.partition()))) continue;
                if (!task.equals(ImageHeaders.get(r.headers(), ImageHeaders.TASK).orElse(null))) continue;
                Optional<String> label = ImageHeaders.get(r.headers(), ImageHeaders.LABEL);
                Split split;
                try {
                    split = Split.parse(ImageHeaders.get(r.headers(), ImageHeaders.SPLIT).orElse(""));
                } catch (IllegalArgumentException e) {
                    skipped++;
                    continue;
                }
                if (!images.containsKey(split)) continue; // test images stay untouched
                int y = label.map(labels::indexOf).orElse(-1);
                if (y < 0 || r.value() == null) {
                    skipped++;
                    continue;
                }
                try {
                    images.get(split).add(decoder.decode(r.value()));
                    ys.get(split).add(y);
                } catch (RuntimeException e) {
                    skipped++;
                    log.debug("skipping image at {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.getMessage());
                }
            }
        }
        return new Splits(labelled(images.get(Split.TRAIN), ys.get(Split.TRAIN), labels),
                labelled(images.get(Split.VALIDATION), ys.get(Split.VALIDATION), labels), skipped);
    }

    private static LabelledImages labelled(List<RgbImage> images, List<Integer> ys, List<String> labels) {
        return new LabelledImages(images, ys.stream().mapToInt(Integer::intValue).toArray(), labels);
    }

    private static boolean caughtUp(Consumer<byte[], byte[]> c, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (c.position(e.getKey()) < e.getValue()) return false;
        }
        return true;
    }
}
