package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.app.PipelineEndToEndIT.CliRun;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.producer.IdxSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code graft probe} end to end on a small sample: Fashion-MNIST published to a real broker, read back from the
 * images topic, the real MobileNetV2 at 64 px cut at three shallow layers.
 */
class ProbeIT {
    static final String TASK = "fashion-probe";
    static final List<String> LAYERS = List.of("block_2_add", "block_5_add", "block_9_add");

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void probeFromTheImagesTopicPrintsOneRowPerLayerWithAccuraciesAboveChance(@TempDir Path tmp) throws Exception {
        Path idx = IdxSource.FASHION_MNIST_DIR;
        assumeTrue(Files.isRegularFile(idx.resolve("train-images-idx3-ubyte.gz")),
                "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
        try (KafkaTestCluster kafka = KafkaTestCluster.start()) {
            String bootstrap = kafka.bootstrapServers();
            assertThat(PipelineEndToEndIT.cli("produce", "--bootstrap-servers", bootstrap, "--task", TASK, "--idx",
                    idx.toString(), "--limit", "170", "--validation-percent", "25", "--test-percent", "5").code()).isZero();
            // Images of another task on the same topic must not enter the sample.
            assertThat(PipelineEndToEndIT.cli("produce", "--bootstrap-servers", bootstrap, "--task", "other", "--idx",
                    idx.toString(), "--offset", "1000", "--limit", "30").code()).isZero();

            Path json = tmp.resolve("probe.json");
            CliRun run = PipelineEndToEndIT.cli("probe", "--bootstrap-servers", bootstrap, "--task", TASK,
                    "--images", "500", "--input-size", "64", "--layers", String.join(",", LAYERS),
                    "--timing-images", "16", "--json", json.toString());
            assertThat(run.code()).as(run.err()).isZero();

            // The test logging configuration may write INFO lines to stdout: the table starts at its title.
            List<String> lines = run.out().lines().dropWhile(l -> !l.startsWith("graft probe: ")).toList();
            assertThat(lines.get(0)).contains("nsfwjs:mobilenet_v2 at 64 px").contains("topic graft.images, task " + TASK)
                    .containsPattern("1\\d\\d images \\(\\d+ train / \\d+ validation\\)");
            assertThat(lines.get(1)).containsSubsequence("layer", "width", "val acc", "± SE", "img/s to depth");
            assertThat(lines.get(2)).startsWith("raw pixels").contains(" 2352 ");
            for (int i = 0; i < LAYERS.size(); i++) {
                String[] cells = lines.get(3 + i).replace(" *", "").trim().split("\\s+");
                assertThat(cells).as(lines.get(3 + i)).hasSize(5);
                assertThat(cells[0]).isEqualTo(LAYERS.get(i));
                assertThat(Integer.parseInt(cells[1])).isPositive();
                assertThat(Double.parseDouble(cells[2])).as("accuracy of %s", cells[0]).isGreaterThan(0.25).isLessThanOrEqualTo(1.0);
                assertThat(Double.parseDouble(cells[4])).as("img/s of %s", cells[0]).isPositive();
            }
            assertThat(lines.get(6)).startsWith("chance: 0.1000 (10 classes)");
            assertThat(lines.get(7)).startsWith("recommended cut: ");

            JsonNode result = new ObjectMapper().readTree(json.toFile());
            JsonNode rows = result.get("layers");
            assertThat(rows).hasSize(3);
            String argmax = null;
            double best = -1;
            for (JsonNode r : rows) {
                double acc = r.get("validation_accuracy").asDouble();
                assertThat(acc).isGreaterThan(0.1).isLessThanOrEqualTo(1.0);
                assertThat(r.get("validation_images").asInt()).isEqualTo(rows.get(0).get("validation_images").asInt());
                if (acc > best) {
                    best = acc;
                    argmax = r.get("layer").asText();
                }
            }
            assertThat(result.get("recommended").asText()).isEqualTo(argmax);
            assertThat(lines.get(7)).startsWith("recommended cut: " + argmax + " ");
            // 170 published, about 5% of them test images left out; the other task's 30 never counted.
            assertThat(result.get("images").asInt()).isBetween(140, 170);
            assertThat(result.get("source").asText()).contains("test images left out");
        }
    }

    @Test
    void unknownLayerFailsListingTheBlockOutputs() {
        Path idx = IdxSource.FASHION_MNIST_DIR;
        assumeTrue(Files.isRegularFile(idx.resolve("train-images-idx3-ubyte.gz")), "Fashion-MNIST not installed");
        CliRun run = PipelineEndToEndIT.cli("probe", "--idx", idx.toString(), "--images", "20", "--layers", "block_12_add,block_99_add");
        assertThat(run.code()).isNotZero();
        assertThat(run.err()).contains("unknown layer 'block_99_add'").contains("block_2_add").contains("out_relu");
    }

    @Test
    void topicWithoutTaskIsABadFlag() {
        CliRun run = PipelineEndToEndIT.cli("probe", "--images", "20");
        assertThat(run.code()).isEqualTo(2);
        assertThat(run.err()).contains("--task is required");
    }
}
