package dev.graft.common.progress;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * A one-line progress bar with rate and ETA for long CLI jobs (produce, demo phases, bench, fine-tuning):
 * {@code label [=====     ] 120/300  40% 12.5 img/s ETA 14s}. On a terminal it is redrawn in place
 * (at most 5 times a second); otherwise (logs, CI, pipes) a line is printed at most every 5 s, and always
 * when the job finishes. With an unknown total ({@code total <= 0}) it shows the count and rate only.
 *
 * <p>Thread-safe: {@link #update}/{@link #add} may be called from any thread (e.g. a producer's callback).
 * Library code that should not print reports through a {@link java.util.function.LongConsumer} and the CLI
 * passes {@code progress::update}.
 *
 * <pre>{@code
 * try (Progress p = Progress.bar(System.err, "fine-tuning", epochs, "epochs")) {
 *     for (int e = 1; e <= epochs; e++) { trainOneEpoch(); p.update(e); }
 * }   // close() prints the final line if it was not printed yet
 * }</pre>
 */
public final class Progress implements AutoCloseable {
    private static final long TTY_REDRAW_NANOS = 200_000_000L;
    private static final long LOG_REDRAW_NANOS = 5_000_000_000L;

    private final PrintStream out;
    private final String label;
    private final long total;
    private final String unit;
    private final boolean tty;
    private final LongSupplier clock;
    private final long startNanos;
    private long lastDrawNanos = Long.MIN_VALUE;
    private long done;
    private boolean finished;

    Progress(PrintStream out, String label, long total, String unit, boolean tty, LongSupplier nanoClock) {
        this.out = out;
        this.label = label;
        this.total = total;
        this.unit = unit == null ? "" : unit;
        this.tty = tty;
        this.clock = nanoClock;
        this.startNanos = nanoClock.getAsLong();
    }

    /** A bar on {@code out} counting toward {@code total} (unknown if {@code <= 0}); rate shown as "N/s". */
    public static Progress bar(PrintStream out, String label, long total) {
        return bar(out, label, total, "");
    }

    /** A bar whose rate is shown as "N {@code unit}/s" (e.g. "img", "epochs"). */
    public static Progress bar(PrintStream out, String label, long total, String unit) {
        return new Progress(out, label, total, unit, System.console() != null, System::nanoTime);
    }

    /** A bar that prints nothing (for library callers that were given no progress sink). */
    public static Progress silent() {
        return new Progress(null, "", 0, "", false, System::nanoTime);
    }

    /** Sets the count done so far (absolute); draws if due. Counts never go backwards. */
    public synchronized void update(long doneSoFar) {
        if (finished || out == null) {
            done = Math.max(done, doneSoFar);
            return;
        }
        done = Math.max(done, doneSoFar);
        long now = clock.getAsLong();
        boolean complete = total > 0 && done >= total;
        if (!complete && lastDrawNanos != Long.MIN_VALUE && now - lastDrawNanos < (tty ? TTY_REDRAW_NANOS : LOG_REDRAW_NANOS)) {
            return;
        }
        draw(now, complete);
    }

    /** Adds {@code n} to the count. */
    public synchronized void add(long n) {
        update(done + n);
    }

    public synchronized long done() {
        return done;
    }

    /** Prints the final line (with the overall rate) unless the bar already completed. Idempotent. */
    public synchronized void finish() {
        if (finished || out == null) {
            finished = true;
            return;
        }
        draw(clock.getAsLong(), true);
    }

    @Override
    public void close() {
        finish();
    }

    private void draw(long now, boolean last) {
        lastDrawNanos = now;
        out.print((tty ? "\r" : "") + line(label, done, total, unit, now - startNanos, last));
        if (!tty || last) {
            out.println();
        }
        out.flush();
        finished = last;
    }

    /** The bar's text (no carriage return or newline); pure, for tests. */
    static String line(String label, long done, long total, String unit, long elapsedNanos, boolean last) {
        double secs = Math.max(1e-3, elapsedNanos / 1e9);
        double rate = done / secs;
        StringBuilder sb = new StringBuilder(label).append(' ');
        if (total > 0) {
            int width = 30;
            int filled = (int) Math.max(0, Math.min(width, width * done / total));
            sb.append('[').append("=".repeat(filled)).append(" ".repeat(width - filled)).append("] ");
            sb.append(String.format(Locale.ROOT, "%d/%d %3.0f%% ", done, total, 100.0 * Math.min(done, total) / total));
        } else {
            sb.append(done).append(' ');
        }
        sb.append(String.format(Locale.ROOT, rate >= 10 || rate == 0 ? "%.0f" : "%.2f", rate))
                .append(unit.isEmpty() ? "" : " " + unit).append("/s");
        if (last) {
            sb.append(" in ").append(format(Duration.ofNanos(elapsedNanos)));
        } else if (total > 0 && rate > 0 && done < total) {
            sb.append(" ETA ").append(format(Duration.ofSeconds((long) Math.ceil((total - done) / rate))));
        }
        return sb.toString();
    }

    /** {@code 42s}, {@code 3m07s}, {@code 1h02m}. */
    public static String format(Duration d) {
        long s = Math.max(0, d.toSeconds());
        if (s >= 3600) {
            return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
        }
        return s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
    }
}
