package dev.graft.common.contract;

import dev.graft.common.json.Json;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Headers of a feature batch record. {@link #BASE_REF} carries the JSON {@link BaseRef} of the base
 * every row of the batch was computed with, so a head trainer can name the base (spec, cut, input
 * size, preprocessing) in the versions it publishes without loading it.
 */
public final class FeatureHeaders {
    public static final String BASE_REF = "graft.base-ref";

    private FeatureHeaders() {}

    public static void putBaseRef(Headers headers, BaseRef ref) {
        headers.remove(BASE_REF);
        headers.add(BASE_REF, Json.toBytes(ref));
    }

    public static Optional<BaseRef> baseRef(Headers headers) {
        Header h = headers.lastHeader(BASE_REF);
        if (h == null || h.value() == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(Json.fromBytes(h.value(), BaseRef.class));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("malformed " + BASE_REF + " header: "
                    + new String(h.value(), StandardCharsets.UTF_8), e);
        }
    }
}
