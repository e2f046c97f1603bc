package dev.graft.finetune;

import dev.graft.common.image.RgbImage;
import java.util.List;

/**
 * Decoded images of one split with their labels: {@code labels[i]} indexes {@code labelNames} (the head's
 * labels, in its output order).
 */
public record LabelledImages(List<RgbImage> images, int[] labels, List<String> labelNames) {
    public LabelledImages {
        images = List.copyOf(images);
        labels = labels.clone();
        labelNames = List.copyOf(labelNames);
        if (images.size() != labels.length) {
            throw new IllegalArgumentException(images.size() + " images but " + labels.length + " labels");
        }
        for (int y : labels) {
            if (y < 0 || y >= labelNames.size()) throw new IllegalArgumentException("label index " + y + " out of " + labelNames);
        }
    }

    public int size() {
        return labels.length;
    }

    @Override
    public int[] labels() {
        return labels.clone();
    }
}
