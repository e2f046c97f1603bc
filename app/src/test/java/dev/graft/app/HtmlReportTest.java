package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.graft.common.contract.ModelUpdateEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The HTML report: self-contained, and (where Chromium is installed) really draws its charts in a headless browser. */
class HtmlReportTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");

    @TempDir
    Path dir;

    @Test
    void isSelfContainedAndEmbedsTheEvents() throws Exception {
        Path file = HtmlReport.write(dir, "fashion", TestEvents.threeVersions("fashion"), Map.of(3, 0.84));
        String html = Files.readString(file);
        assertThat(file.getFileName().toString()).isEqualTo("index.html");
        assertThat(html).startsWith("<!DOCTYPE html>")
                .contains("\"trainCount\":3000", "\"validationAccuracy\":0.86", "\"testAccuracy\":0.84", "\"confusionMatrix\":[[86,9,5]")
                .contains("<td>3</td>")
                .doesNotContain(" src=", "<link", "@import", "url(")
                .contains("http://www.w3.org/2000/svg"); // the SVG namespace is the only URL: a name, not fetched
        assertThat(html.replace("http://www.w3.org/2000/svg", "")).doesNotContain("http:", "https:");
    }

    @Test
    void labelsCannotBreakOutOfTheDataScript() {
        ModelUpdateEvent evil = TestEvents.version("t", 1, 10, 0.5, new int[][] {{1, 0}, {0, 1}});
        evil = new ModelUpdateEvent(evil.type(), evil.task(), 1, evil.createdAt(), evil.base(),
                List.of("</script><script>alert(1)</script>", "b&c"), evil.metrics(), evil.lineage(), evil.artifact());
        String html = HtmlReport.render("<t>", List.of(evil), Map.of());
        assertThat(html).doesNotContain("</script><script>alert(1)").contains("&lt;t&gt;");
    }

    @Test
    void noVersionsIsAClearError() {
        assertThatThrownBy(() -> HtmlReport.render("t", List.of(), Map.of())).hasMessageContaining("no published versions");
    }

    @Test
    @Timeout(120)
    void chromiumDrawsTheLearningCurveAndTheConfusionMatrix() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM), "no " + CHROMIUM + " (apt-get install chromium)");
        Path file = HtmlReport.write(dir.resolve("report"), "fashion", TestEvents.threeVersions("fashion"), Map.of(2, 0.78, 3, 0.84));
        String out = dump(file);
        assertThat(out).contains("data-drawn=\"true\"");

        // learning curve: 3 validation points and 2 test points, at the right x, joined by lines
        List<String> val = matches(out, "<circle[^>]*class=\"val point\"[^>]*>");
        assertThat(val).hasSize(3);
        assertThat(String.join("\n", val)).contains("data-x=\"1000\"", "data-x=\"2000\"", "data-x=\"3000\"", "data-y=\"0.86\"");
        assertThat(matches(out, "<circle[^>]*class=\"test point\"[^>]*>")).hasSize(2);
        assertThat(matches(out, "<polyline[^>]*class=\"val line\"[^>]*>")).hasSize(1);
        // points go up and to the right: larger x, smaller (higher) cy
        List<Double> cx = numbers(val, "cx"), cy = numbers(val, "cy");
        assertThat(cx).isSorted();
        assertThat(cy.get(0)).isGreaterThan(cy.get(2));

        // confusion matrix of version 3: 3x3 cells with the counts
        List<String> cells = matches(out, "<rect[^>]*class=\"cell\"[^>]*>");
        assertThat(cells).hasSize(9);
        assertThat(String.join("\n", cells)).contains("data-count=\"86\"", "data-count=\"90\"", "data-count=\"89\"");
        assertThat(out).contains("Confusion matrix of version 3");
    }

    @Test
    void aliasEventsAreNotVersions() {
        String html = HtmlReport.render("fashion", TestEvents.historyWithFineTuneAndRollback("fashion"), Map.of());
        assertThat(matches(html, "<tr><td>[0-9]</td>")).hasSize(3);
        assertThat(html).contains("<td>fine-tuned, promoted</td>", "<td>promoted, rollback target</td>", "<td>rollback</td>");
        assertThatThrownBy(() -> HtmlReport.render("t", List.of(ModelUpdateEvent.aliasSet("t", "serving", 1, "manual",
                java.time.Instant.EPOCH)), Map.of())).hasMessageContaining("no published versions");
    }

    @Test
    @Timeout(120)
    void chromiumMarksPromotionsRollbacksAndFineTunesAndShowsTheServingMatrix() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM), "no " + CHROMIUM + " (apt-get install chromium)");
        Path file = HtmlReport.write(dir.resolve("report"), "fashion", TestEvents.historyWithFineTuneAndRollback("fashion"), Map.of());
        String out = dump(file);
        assertThat(out).contains("data-drawn=\"true\"");
        assertThat(matches(out, "<circle[^>]*class=\"promo mark\"[^>]*>")).hasSize(3);
        assertThat(String.join("\n", matches(out, "<path[^>]*class=\"rollback mark\"[^>]*>"))).contains("data-version=\"2\"")
                .doesNotContain("data-version=\"3\"");
        assertThat(String.join("\n", matches(out, "<path[^>]*class=\"ft mark\"[^>]*>"))).contains("data-version=\"3\"")
                .doesNotContain("data-version=\"1\"");
        // the serving version after the rollback is 2: its matrix is shown, not the newest's
        assertThat(out).contains("Confusion matrix of version 2 (serving)");
        assertThat(String.join("\n", matches(out, "<rect[^>]*class=\"cell\"[^>]*>"))).contains("data-count=\"85\"");
        // throughput: a point per version, and the rate between versions (1000 images a minute)
        assertThat(matches(out, "<circle[^>]*class=\"tp point\"[^>]*>")).hasSize(3);
        assertThat(matches(out, "<text[^>]*class=\"rate\"[^>]*>16.7/s</text>")).hasSize(2);
    }

    private String dump(Path file) throws Exception {
        Path profile = Files.createDirectories(dir.resolve("chromium-profile"));
        Path dom = dir.resolve("dom.html");
        Process p = new ProcessBuilder(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--dump-dom", file.toUri().toString())
                .redirectOutput(dom.toFile())
                .redirectError(dir.resolve("chromium.err").toFile())
                .start();
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish within 90 s");
        }
        assertThat(p.exitValue()).as("chromium exit; stderr: %s", Files.readString(dir.resolve("chromium.err"))).isZero();
        return Files.readString(dom);
    }

    private static List<String> matches(String s, String regex) {
        Matcher m = Pattern.compile(regex).matcher(s);
        List<String> out = new java.util.ArrayList<>();
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }

    private static List<Double> numbers(List<String> tags, String attr) {
        return tags.stream().map(t -> {
            Matcher m = Pattern.compile(" " + attr + "=\"([0-9.]+)\"").matcher(t);
            assertThat(m.find()).as("%s in %s", attr, t).isTrue();
            return Double.parseDouble(m.group(1));
        }).toList();
    }
}
