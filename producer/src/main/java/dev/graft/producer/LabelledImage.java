package dev.graft.producer;

import dev.graft.common.contract.Split;
import java.util.Objects;

/**
 * One encoded image ready to publish.
 *
 * @param id stable, unique image id; becomes the record key and decides the split by hash
 * @param bytes encoded image (PNG, JPEG, ...), published unchanged
 * @param contentType MIME type, e.g. {@code image/png}
 * @param label class name, or null for unlabelled images
 * @param split a fixed split (e.g. an official test set), or null to assign one from the id's hash
 */
public record LabelledImage(String id, byte[] bytes, String contentType, String label, Split split) {
    public LabelledImage {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(bytes, "bytes");
        Objects.requireNonNull(contentType, "contentType");
        if (id.isBlank()) {
            throw new IllegalArgumentException("image id must not be blank");
        }
    }
}
