package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.json.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `graft bench head` with tiny sizes: it runs end to end and writes its JSON. */
class BenchHeadIT {
    @Test
    void writesEpochTimeAndFreshness(@TempDir Path tmp) throws Exception {
        Path json = tmp.resolve("bench.json");
        PipelineEndToEndIT.CliRun run = PipelineEndToEndIT.cli("bench", "head", "--vectors", "200", "--dim", "8",
                "--classes", "2", "--epochs", "1", "--batch", "40", "--rounds", "2", "--json", json.toString());
        assertThat(run.code()).as(run.err()).isZero();
        assertThat(run.out()).contains("epoch on 200 cached 8-d vectors", "round 2: +40 labelled vectors -> v2 serving");
        @SuppressWarnings("unchecked")
        Map<String, Object> r = Json.mapper().readValue(Files.readAllBytes(json), Map.class);
        assertThat(r).containsKeys("epoch_ms", "freshness_s", "freshness_median_s");
        assertThat(((Number) r.get("freshness_median_s")).doubleValue()).isPositive();
        assertThat(PipelineEndToEndIT.cli("bench", "head", "--batch", "1").code()).isNotZero();
    }
}
