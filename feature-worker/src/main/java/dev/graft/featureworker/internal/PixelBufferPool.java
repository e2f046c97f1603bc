package dev.graft.featureworker.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The {@code float[]} pixel buffers that batches are decoded into, reused from batch to batch. A batch of 16 images at
 * 96 px is 1.8 MB and one of 8 at 224 px 4.8 MB: with G1's default regions (2 MB for a 4 GB heap) every such
 * buffer is a humongous object, and allocating one per batch started a concurrent marking cycle again and again
 * ("G1 Conc" threads at 0.1–0.6 CPU-ms per image in {@code graft bench features} at 96 and 224 px, batch 16 and 32),
 * besides zeroing it each time.
 *
 * <p>Holds at most {@code capacity} free buffers, the largest ones; {@link #take} hands out a free buffer at least
 * as long as asked (its tail beyond that may hold an earlier batch's pixels: callers write before they read), else
 * a new one. A buffer never given back (a cancelled batch) is simply collected. Thread-safe: the decode thread takes,
 * the inference thread gives back.
 */
final class PixelBufferPool {
    private final int capacity;
    private final List<float[]> free = new ArrayList<>();

    PixelBufferPool(int capacity) {
        if (capacity < 0) throw new IllegalArgumentException("capacity must be >= 0, got " + capacity);
        this.capacity = capacity;
    }

    /** A buffer of at least {@code length} floats: the shortest free one that fits, else a new one of {@code length}. */
    synchronized float[] take(int length) {
        int best = -1;
        for (int i = 0; i < free.size(); i++) {
            float[] b = free.get(i);
            if (b.length >= length && (best < 0 || b.length < free.get(best).length)) best = i;
        }
        return best >= 0 ? free.remove(best) : new float[length];
    }

    /** Gives {@code buffer} back; when more than {@code capacity} are free the shortest is dropped. */
    synchronized void give(float[] buffer) {
        if (buffer == null) return;
        for (float[] b : free) {
            if (b == buffer) throw new IllegalStateException("buffer given back twice");
        }
        free.add(buffer);
        if (free.size() > capacity) free.remove(free.stream().min(Comparator.comparingInt(b -> b.length)).orElseThrow());
    }

    synchronized int freeCount() {
        return free.size();
    }
}
