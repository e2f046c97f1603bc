package dev.graft.common.image;

import java.util.Objects;

/**
 * An image that Graft refuses to decode. Unchecked so it can cross stream/lambda boundaries, but
 * always thrown deliberately: callers (e.g. a feature worker) catch it and dead-letter the record
 * with {@link #reason()} as the machine-readable cause.
 */
public class ImageRejectedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why an image was rejected. */
    public enum Reason {
        /** Zero bytes. */
        EMPTY,
        /** More encoded bytes than the guard's byte cap. */
        TOO_LARGE_BYTES,
        /** The header declares more pixels than the guard's pixel cap. */
        TOO_MANY_PIXELS,
        /** The header declares an aspect ratio beyond the guard's cap. */
        BAD_ASPECT,
        /** Not an image format the JVM can read, or a colour model it cannot convert (e.g. CMYK JPEG). */
        UNSUPPORTED_FORMAT,
        /** Recognised format, but the data is truncated or damaged. */
        CORRUPT
    }

    private final Reason reason;

    public ImageRejectedException(Reason reason, String message) {
        this(reason, message, null);
    }

    public ImageRejectedException(Reason reason, String message, Throwable cause) {
        super(reason + ": " + message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public Reason reason() {
        return reason;
    }
}
