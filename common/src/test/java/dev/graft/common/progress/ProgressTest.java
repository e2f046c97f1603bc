package dev.graft.common.progress;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void lineShowsCountPercentRateAndEta() {
        String line = Progress.line("featurizing", 100, 400, "img", 10 * SECOND, false);
        assertThat(line).startsWith("featurizing [=======").contains("100/400  25%").contains("10 img/s").endsWith("ETA 30s");
    }

    @Test
    void finalLineShowsElapsedInsteadOfEta() {
        String line = Progress.line("epochs", 5, 5, "epochs", 125 * SECOND, true);
        assertThat(line).contains("5/5 100%").contains("0.04 epochs/s").endsWith("in 2m05s").doesNotContain("ETA");
    }

    @Test
    void unknownTotalShowsCountAndRateOnly() {
        assertThat(Progress.line("publishing", 30, 0, "", 3 * SECOND, false)).isEqualTo("publishing 30 10/s");
    }

    @Test
    void overshootingTheTotalDoesNotOverflowTheBar() {
        assertThat(Progress.line("x", 12, 10, "", SECOND, true)).contains("[" + "=".repeat(30) + "]").contains("12/10 100%");
    }

    @Test
    void withoutTerminalPrintsAtMostEveryFiveSecondsAndAlwaysTheEnd() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        AtomicLong now = new AtomicLong();
        Progress p = new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), "job", 10, "img", false, now::get);
        p.update(1);            // first update draws
        now.set(SECOND);
        p.update(2);            // 1 s later: suppressed
        now.set(6 * SECOND);
        p.add(3);               // 5 s after the last line: drawn (5/10)
        now.set(7 * SECOND);
        p.update(10);           // complete: always drawn
        p.close();              // already finished: nothing more
        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertThat(lines).hasSize(3);
        assertThat(lines[0]).contains("1/10");
        assertThat(lines[1]).contains("5/10").contains("ETA 6s");
        assertThat(lines[2]).contains("10/10").contains("in 7s");
    }

    @Test
    void closeWithoutCompletingPrintsTheFinalCount() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        AtomicLong now = new AtomicLong();
        try (Progress p = new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), "job", 10, "", false, now::get)) {
            p.update(4);
            now.set(2 * SECOND);
            p.update(7);
        }
        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertThat(lines[lines.length - 1]).contains("7/10").contains("in 2s");
    }

    @Test
    void silentPrintsNothingButCounts() {
        Progress p = Progress.silent();
        p.add(3);
        p.add(4);
        p.close();
        assertThat(p.done()).isEqualTo(7);
    }

    @Test
    void durationsAreCompact() {
        assertThat(Progress.format(Duration.ofSeconds(42))).isEqualTo("42s");
        assertThat(Progress.format(Duration.ofSeconds(187))).isEqualTo("3m07s");
        assertThat(Progress.format(Duration.ofMinutes(62))).isEqualTo("1h02m");
    }
}
