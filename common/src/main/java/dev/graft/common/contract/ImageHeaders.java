package dev.graft.common.contract;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Headers of an image record. Key = image id (UTF-8), value = encoded image bytes (PNG, JPEG, ...).
 * {@code label} is absent for unlabelled images; {@code split} is always present.
 */
public final class ImageHeaders {
    public static final String TASK = "graft.task";
    public static final String LABEL = "graft.label";
    public static final String SPLIT = "graft.split";
    public static final String CONTENT_TYPE = "graft.content-type";

    private ImageHeaders() {}

    public static void put(Headers headers, String name, String value) {
        headers.remove(name);
        if (value != null) {
            headers.add(name, value.getBytes(StandardCharsets.UTF_8));
        }
    }

    public static Optional<String> get(Headers headers, String name) {
        Header h = headers.lastHeader(name);
        return h == null || h.value() == null ? Optional.empty()
                : Optional.of(new String(h.value(), StandardCharsets.UTF_8));
    }
}
