package dev.graft.app;

import java.time.Duration;
import java.util.Locale;

/** Durations on the command line: {@code 500ms}, {@code 30s}, {@code 2m}, or a bare number of seconds. */
final class Durations {
    private Durations() {}

    /** Parses a non-negative duration; throws {@link IllegalArgumentException} naming the text otherwise. */
    static Duration parse(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        Duration d;
        try {
            if (t.endsWith("ms")) {
                d = Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
            } else if (t.endsWith("s")) {
                d = Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
            } else if (t.endsWith("m")) {
                d = Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1)));
            } else {
                d = Duration.ofSeconds(Long.parseLong(t));
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a duration: '" + s + "' (use e.g. 500ms, 30s, 2m)");
        }
        if (d.isNegative()) throw new IllegalArgumentException("negative duration: '" + s + "'");
        return d;
    }
}
