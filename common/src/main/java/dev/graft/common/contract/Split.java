package dev.graft.common.contract;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import java.util.Objects;

/** Data split of an image. Assigned once from a stable hash of the image id, so an image never moves. */
public enum Split {
    TRAIN, VALIDATION, TEST;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Split parse(String s) {
        for (Split v : values()) {
            if (v.wire().equalsIgnoreCase(s.trim())) {
                return v;
            }
        }
        throw new IllegalArgumentException("unknown split '" + s + "' (expected train, validation or test)");
    }

    /**
     * Assigns a split from the SHA-1 of the image id, as TensorFlow's retrain.py does: the id's hash
     * mapped to [0,100) decides, so adding images never moves an existing one between splits.
     */
    public static Split assign(String imageId, double validationPercent, double testPercent) {
        Objects.requireNonNull(imageId, "imageId");
        // Written so that NaN fails too.
        if (!(validationPercent >= 0 && testPercent >= 0 && validationPercent + testPercent < 100)) {
            throw new IllegalArgumentException("validation% + test% must be in [0,100): "
                    + validationPercent + " + " + testPercent);
        }
        double p = percentile(imageId);
        if (p < validationPercent) {
            return VALIDATION;
        }
        if (p < validationPercent + testPercent) {
            return TEST;
        }
        return TRAIN;
    }

    /** The id's stable position in [0,100): the SHA-1 of its UTF-8 bytes, so it is the same on every machine. */
    public static double percentile(String imageId) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-1").digest(imageId.getBytes(StandardCharsets.UTF_8));
            long v = 0;
            for (int i = 0; i < 6; i++) {
                v = (v << 8) | (d[i] & 0xff);
            }
            return (v % 1_000_000L) / 10_000.0;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required by the JVM spec", e);
        }
    }
}
