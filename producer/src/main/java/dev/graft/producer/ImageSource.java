package dev.graft.producer;

import java.util.Iterator;

/**
 * A lazily read sequence of images in a deterministic order. Single use; not thread-safe. Reading
 * failures surface from {@link #next()} as unchecked exceptions naming the input.
 */
public interface ImageSource extends Iterator<LabelledImage>, AutoCloseable {

    /** How many images this source will yield in total, or -1 if unknown (for progress bars). */
    default long expectedCount() {
        return -1;
    }

    /** Human-readable description of the input, for logs. */
    String describe();

    @Override
    default void close() {}
}
