package dev.graft.app;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/** A one-line progress bar with rate and ETA on stderr (redrawn in place on a terminal, every 5 s otherwise). */
final class Console {
    private final PrintStream out;
    private final String label;
    private final long total;
    private final long startNanos = System.nanoTime();
    private final boolean tty = System.console() != null;
    private long lastDrawNanos;

    Console(PrintStream out, String label, long total) {
        this.out = out;
        this.label = label;
        this.total = total;
    }

    void update(long done) {
        long now = System.nanoTime();
        boolean finished = total > 0 && done >= total;
        if (!finished && now - lastDrawNanos < (tty ? 200_000_000L : 5_000_000_000L)) {
            return;
        }
        lastDrawNanos = now;
        double secs = Math.max(1e-3, (now - startNanos) / 1e9);
        double rate = done / secs;
        StringBuilder sb = new StringBuilder(tty ? "\r" : "");
        sb.append(label).append(' ');
        if (total > 0) {
            int width = 30;
            int filled = (int) Math.min(width, width * done / total);
            sb.append('[').append("=".repeat(filled)).append(" ".repeat(width - filled)).append("] ");
            sb.append(String.format(Locale.ROOT, "%d/%d %3.0f%% ", done, total, 100.0 * done / total));
        } else {
            sb.append(done).append(' ');
        }
        sb.append(String.format(Locale.ROOT, "%.1f/s", rate));
        if (total > 0 && rate > 0 && !finished) {
            sb.append(" ETA ").append(format(Duration.ofSeconds((long) ((total - done) / rate))));
        }
        out.print(sb);
        if (!tty || finished) {
            out.println();
        }
        out.flush();
    }

    static String format(Duration d) {
        long s = d.toSeconds();
        return s >= 60 ? (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s" : s + "s";
    }
}
