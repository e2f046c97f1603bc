package dev.graft.app.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProbeReportTest {

    private static ProbeReport.Row row(String name, int width, int correct, double imgPerS) {
        return new ProbeReport.Row(name, width, correct / 500.0, correct, 500, imgPerS, 1e-3);
    }

    private static ProbeReport report(int pixelsCorrect) {
        return new ProbeReport("probe of test", List.of(
                row("block_2_add", 24, 380, 120.0),
                row("block_9_add", 64, 422, 40.0),
                row("block_12_add", 96, 428, 25.0),
                row("out_relu", 1280, 400, 18.0)),
                row(ProbeReport.PIXELS, 3072, pixelsCorrect, 900.0), 10,
                List.of("img/s to depth: forward pass to the layer"));
    }

    @Test
    void recommendationIsTheArgmaxOfValidationAccuracy() {
        ProbeReport r = report(300);
        assertThat(r.best().layer()).isEqualTo("block_12_add");
        assertThat(r.recommendation().get(0)).startsWith("recommended cut: block_12_add (validation accuracy 0.8560");
        // block_9_add (0.844) is within one SE (~0.0157) of 0.856 and faster.
        assertThat(r.cheaperAlternative().layer()).isEqualTo("block_9_add");
        assertThat(r.pixelsAsGood()).isFalse();
        assertThat(r.toJson(Map.of()).get("recommended")).isEqualTo("block_12_add");
    }

    @Test
    void tieGoesToTheShallowerLayer() {
        ProbeReport r = new ProbeReport("t", List.of(row("a", 8, 400, 50), row("b", 8, 400, 20)),
                row(ProbeReport.PIXELS, 8, 100, 900), 2, List.of());
        assertThat(r.best().layer()).isEqualTo("a");
        assertThat(r.cheaperAlternative()).isNull();
    }

    @Test
    void saysWhenRawPixelsAreAsGood() {
        ProbeReport r = report(425);
        assertThat(r.pixelsAsGood()).isTrue();
        assertThat(String.join("\n", r.recommendation())).contains("raw pixels are as good");
        assertThat(report(300).recommendation().get(2)).contains("raw pixels: 0.6000, 25.6 points below");
    }

    @Test
    void tableHasAHeaderThePixelRowAndOneRowPerLayer() {
        String text = report(300).render();
        List<String> lines = text.lines().toList();
        assertThat(lines.get(0)).isEqualTo("probe of test");
        assertThat(lines.get(1)).contains("layer").contains("width").contains("val acc").contains("img/s to depth");
        assertThat(lines.get(2)).startsWith("raw pixels").contains("3072").contains("0.6000").contains("900.0");
        assertThat(lines.get(3)).startsWith("block_2_add").contains("0.7600");
        assertThat(lines.get(5)).startsWith("block_12_add *").contains(" 96 ").contains("0.8560").contains("25.0");
        assertThat(lines.get(6)).startsWith("out_relu").contains("1280");
        assertThat(lines.get(7)).startsWith("chance: 0.1000 (10 classes)");
        assertThat(text).contains("recommended cut: block_12_add").contains("img/s to depth: forward pass");
        // Columns line up: every table row is as long as the header.
        for (int i = 2; i <= 6; i++) assertThat(lines.get(i)).hasSameSizeAs(lines.get(1));
    }

    @Test
    void rejectsImpossibleRows() {
        assertThatThrownBy(() -> new ProbeReport.Row("x", 3, 1.5, 3, 2, 1, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ProbeReport("t", List.of(), row("p", 1, 1, 1), 2, List.of()))
                .hasMessageContaining("no layer rows");
    }
}
