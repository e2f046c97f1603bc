package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.graft.common.json.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pure parts of {@code graft bench features}; nothing here measures or asserts on speed. */
class FeatureBenchTest {

    @Test
    void parsesGridLists() {
        assertThat(FeatureBench.parseIntList("96, 224", "--resolutions")).containsExactly(96, 224);
        assertThat(FeatureBench.parseIntList("1,8,16,32", "--batches")).containsExactly(1, 8, 16, 32);
        assertThatThrownBy(() -> FeatureBench.parseIntList("8,x", "--batches")).hasMessageContaining("'x' is not a number");
        assertThatThrownBy(() -> FeatureBench.parseIntList("0", "--batches")).hasMessageContaining("positive");
        assertThatThrownBy(() -> FeatureBench.parseIntList("8,8", "--batches")).hasMessageContaining("twice");
        assertThatThrownBy(() -> FeatureBench.parseIntList(" ", "--batches")).hasMessageContaining("empty");
    }

    @Test
    void roundsImagesUpToWholeBatches() {
        assertThat(FeatureBench.roundUp(64, 16)).isEqualTo(64);
        assertThat(FeatureBench.roundUp(64, 24)).isEqualTo(72);
        assertThat(FeatureBench.roundUp(5, 1)).isEqualTo(5);
    }

    /** 288 images at batch 32 are 9 batches: on two lanes one would idle through the burst's last forward pass. */
    @Test
    void burstOfAnOddNumberOfBatchesOnTwoLanesIsRoundedToWholeBatchesPerLane() {
        assertThat(FeatureBench.evenOverLanes(288, 32, 2)).isEqualTo(320);
        assertThat(FeatureBench.evenOverLanes(288, 32, 1)).as("one lane: whole batches only").isEqualTo(288);
        assertThat(FeatureBench.evenOverLanes(300, 16, 2)).isEqualTo(320);
        for (int lanes = 1; lanes <= 4; lanes++) {
            assertThat(FeatureBench.evenOverLanes(1001, 8, lanes) % (8 * lanes)).isZero();
        }
    }

    @Test
    void ratiosAndTableShowMissingValuesAsDash() {
        FeatureBench.Run full = run(96, 16, 20.0, 15.0, 400.0);
        FeatureBench.Run noTorch = run(224, 8, 4.0, null, null);
        assertThat(full.bareOverTorch()).isEqualTo(0.05);
        assertThat(full.pipelineOverBare()).isEqualTo(0.75);
        assertThat(noTorch.bareOverTorch()).isNull();
        assertThat(FeatureBench.ratio(1.0, 0.0)).isNull();
        String table = FeatureBench.table(List.of(full, noTorch));
        assertThat(table.lines().toList()).hasSize(3);
        assertThat(table.lines().findFirst().orElseThrow()).contains("bare img/s", "pipeline img/s", "torch img/s", "a/c", "b/a");
        assertThat(table).contains("0.050", "0.75");
        assertThat(table.lines().toList().get(2)).matches("224\\s+8\\s+4\\.0\\s+-\\s+-\\s+-\\s+-\\s+-\\s+-\\s+-\\s+-");
        assertThat(FeatureBench.intervalLegend(List.of(full, noTorch))).as("no paired rounds, no legend").isNull();
    }

    @Test
    void executorColumnShowsFoldedOverDl4jAndRssFlatnessAllowsNoise() {
        FeatureBench.Run r = new FeatureBench.Run(96, 16, 64, 120.0, 10.0, null, null, null, null, 150.0, 8.0, 900L,
                1000L, "folded", 20.0, 60.0, null, null, null, null, null, null);
        assertThat(r.foldedOverDl4j()).isEqualTo(6.0);
        assertThat(FeatureBench.tableRow(r)).contains("20.0", "6.00");
        assertThat(new FeatureBench.RssRun(224, 16, 10000, "folded", 30, 900, 1000, 1040, 1040).flat()).isTrue();
        assertThat(new FeatureBench.RssRun(224, 16, 10000, "folded", 30, 900, 1000, 1400, 1400).flat()).isFalse();
        assertThat(new FeatureBench.RssRun(224, 16, 10000, "folded", 30, 900, 1000, 1400, 1400).toString())
                .contains("GROWING");
    }

    @Test
    void jsonHasTheIssueFieldsWithNullsForSkippedPeers() {
        FeatureBench.Settings s = settings(new TorchPeer(Path.of("/nonexistent/python3"), TorchPeer.DEFAULT_SCRIPT));
        FeatureBench.Result r = new FeatureBench.Result("id", "out_relu", 2,
                List.of(run(96, 16, 20.0, 15.0, 400.0), run(224, 1, 3.0, 2.0, null)), List.of(TorchPeer.SKIPPED), null);
        JsonNode root = Json.fromBytes(FeatureBench.toJsonString(r, s).getBytes(StandardCharsets.UTF_8), JsonNode.class);
        JsonNode runs = root.get("runs");
        assertThat(runs).hasSize(2);
        for (String f : List.of("resolution", "batch", "bare_img_s", "pipeline_img_s", "torch_img_s")) {
            assertThat(runs.get(0).has(f)).as(f).isTrue();
            assertThat(runs.get(1).has(f)).as(f).isTrue();
        }
        assertThat(runs.get(0).get("torch_img_s").asDouble()).isEqualTo(400.0);
        assertThat(runs.get(1).get("torch_img_s").isNull()).isTrue();
        assertThat(runs.get(1).get("bare_over_torch").isNull()).isTrue();
        assertThat(root.get("notes").get(0).asText()).isEqualTo(TorchPeer.SKIPPED);
        assertThat(runs.get(0).get("pipeline_cold_img_s").isNull()).as("no warm-up pass measured").isTrue();
        assertThat(root.get("pipeline_warm_up").asBoolean()).isTrue();
    }

    @Test
    void pipelineWorkersMustFitTheThreadBudgetAndTheCommitIntervalTheWorkersLimit() {
        assertThatThrownBy(() -> new FeatureBench.Settings("b", "c", List.of(96), List.of(8), 8, 1, 2, false, false,
                Path.of("."), null, "folded", false, false, false, 15, false, true, true, java.time.Duration.ZERO, 3, 3, 10, 10, dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE,
                dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE, 128))
                .hasMessageContaining("pipeline workers must be in 1..2");
        assertThatThrownBy(() -> new FeatureBench.Settings("b", "c", List.of(96), List.of(8), 8, 1, 2, false, false,
                Path.of("."), null, "folded", false, false, false, 15, false, true, true, java.time.Duration.ZERO, 0, 3, 10, 10, dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE,
                dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE, 128))
                .hasMessageContaining("pipeline workers");
        assertThat(new FeatureBench.Settings("b", "c", List.of(96), List.of(8), 8, 1, 2, false, false, Path.of("."), null,
                "folded", false, false, false, 15, false, true, true, java.time.Duration.ZERO, 2, 3, 10, 10, dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE,
                dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE, 128).pipelineWorkers()).isEqualTo(2);
        assertThatThrownBy(() -> new FeatureBench.Settings("b", "c", List.of(96), List.of(8), 8, 1, 2, false, false,
                Path.of("."), null, "folded", false, false, false, 15, false, true, true, java.time.Duration.ofMinutes(1), 1, 3, 10, 10, dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE,
                dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE, 128))
                .hasMessageContaining("commit interval must be in [0, 30s]");
    }

    @Test
    void queuedImagesOutsideTheWorkersRangeAreRejected() {
        for (int queued : new int[] {-1, 4097}) {
            assertThatThrownBy(() -> new FeatureBench.Settings("b", "c", List.of(96), List.of(8), 8, 1, 2, false, false,
                    Path.of("."), null, "folded", false, false, false, 15, false, true, true, java.time.Duration.ZERO, 1, 3,
                    10, 10, dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE,
                    dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE, queued))
                    .hasMessageContaining("queued images must be in 1..4096, got " + queued);
        }
    }

    @Test
    void autoQueuedImagesGivesEachResolutionTheWorkersDefault() {
        FeatureBench.Settings auto = new FeatureBench.Settings("b", "c", List.of(224, 96), List.of(8), 8, 1, 2, false, false,
                Path.of("."), null);
        assertThat(auto.queuedImages()).isEqualTo(FeatureBench.AUTO_QUEUED_IMAGES);
        assertThat(FeatureBench.queuedImages(auto, 224)).isEqualTo(128);
        assertThat(FeatureBench.queuedImages(auto, 96)).isEqualTo(696);
        FeatureBench.Settings fixed = new FeatureBench.Settings("b", "c", List.of(96), List.of(8), 8, 1, 2, false,
                false, Path.of("."), null, "folded", false, false, false, 15, false, true, true, java.time.Duration.ZERO, 1, 3,
                10, 10, dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE,
                dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE, 32);
        assertThat(FeatureBench.queuedImages(fixed, 96)).isEqualTo(32);
        assertThat(BenchFeatures.Features.queuedImages("auto")).isEqualTo(FeatureBench.AUTO_QUEUED_IMAGES);
        assertThatThrownBy(() -> BenchFeatures.Features.queuedImages("0"))
                .hasMessage("--queued-images must be in 1..4096 or auto, got 0");
    }

    @Test
    void perRoundMaximumOfTwoBareLayoutsDoesNotInflateA() {
        // Two layouts of equal speed whose noise alternates: the faster of each round would be 110 every time.
        List<double[]> one = List.of(new double[] {110, 1}, new double[] {90, 1}, new double[] {110, 1}, new double[] {90, 1},
                new double[] {100, 1});
        List<double[]> side = List.of(new double[] {90, 2}, new double[] {110, 2}, new double[] {90, 2}, new double[] {110, 2},
                new double[] {99, 2});
        List<double[]> a = FeatureBench.fasterLayout(one, side);
        assertThat(a).as("the layout with the higher median, all its rounds").isSameAs(one);
        assertThat(FeatureBench.median(a.stream().map(r -> r[0]).toList())).isEqualTo(100.0);
        List<double[]> faster = List.of(new double[] {120, 2}, new double[] {95, 2}, new double[] {130, 2});
        assertThat(FeatureBench.fasterLayout(one, faster)).isSameAs(faster);
        assertThat(FeatureBench.fasterLayout(one, one)).as("a tie keeps the first").isSameAs(one);
    }

    @Test
    void repeatsCountWithTheirMedianAndItsRunIsTheOneShown() {
        assertThat(FeatureBench.median(List.of(190.0, 120.0, 250.0))).isEqualTo(190.0);
        assertThat(FeatureBench.median(List.of(3.0, 1.0, 4.0, 2.0))).isEqualTo(2.5);
        assertThat(FeatureBench.median(List.of(7.0))).isEqualTo(7.0);
        assertThat(FeatureBench.medianIndex(List.of(190.0, 120.0, 250.0))).isEqualTo(0);
        assertThat(FeatureBench.medianIndex(List.of(3.0, 1.0, 4.0, 2.0))).as("the lower middle").isEqualTo(3);
        assertThatThrownBy(() -> FeatureBench.median(List.of())).hasMessageContaining("no values");
        assertThatThrownBy(() -> new FeatureBench.Settings("b", "c", List.of(96), List.of(8), 8, 1, 2, false, false,
                Path.of("."), null, "folded", false, false, false, 15, false, true, true, java.time.Duration.ZERO, 1, 0, 10, 10, dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE,
                dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE, 128))
                .hasMessageContaining("repeats must be in 1..15");
        assertThatThrownBy(() -> new FeatureBench.Settings("b", "c", List.of(96), List.of(8), 8, 1, 2, false, false,
                Path.of("."), null, "folded", false, false, false, 15, false, true, true, java.time.Duration.ZERO, 1, 3, 10, 20, dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE,
                dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE, 128))
                .hasMessageContaining("broker nice must be in 0..19, got 20");
    }

    @Test
    void jsonKeepsEveryRepeatAndTheWorkersJoinTimeApart() {
        FeatureBench.Run r = new FeatureBench.Run(96, 16, 64, 200.0, 7.0, 190.0, 8.0, 0.5, 195.0, null, null, 900L,
                1000L, "folded", null, null, 150.0, List.of(210.0, 200.0, 150.0), List.of(190.0, 185.0, 199.0), 0.4, null, null);
        FeatureBench.Result res = new FeatureBench.Result("id", "out_relu", 2, List.of(r), List.of(), null);
        JsonNode root = Json.fromBytes(FeatureBench.toJsonString(res, settings(null)).getBytes(StandardCharsets.UTF_8),
                JsonNode.class);
        JsonNode run = root.get("runs").get(0);
        assertThat(run.get("bare_img_s_repeats")).hasSize(3);
        assertThat(run.get("pipeline_img_s_repeats").get(2).asDouble()).isEqualTo(199.0);
        assertThat(run.get("pipeline_join_s").asDouble()).isEqualTo(0.4);
        // rounds: 190/210, 185/200, 199/150 -> median of the ratios 0.925
        assertThat(run.get("pipeline_over_bare_paired").asDouble()).isCloseTo(0.925, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(run.get("pipeline_over_bare").asDouble()).isEqualTo(0.95);
        assertThat(root.get("repeats").asInt()).isEqualTo(FeatureBench.DEFAULT_REPEATS);
        assertThat(root.get("broker_policy").asText()).isEqualTo("idle");
    }

    @Test
    void roundsAlternateWhichSideRunsFirstAndThePairedRatioAndStealAreShown() {
        assertThat(FeatureBench.bareFirst(1)).isTrue();
        assertThat(FeatureBench.bareFirst(2)).isFalse();
        assertThat(FeatureBench.bareFirst(3)).isTrue();
        java.util.List<Double> pipeSteal = new java.util.ArrayList<>(java.util.Arrays.asList(0.01, null, 0.12));
        FeatureBench.Run r = new FeatureBench.Run(96, 16, 64, 200.0, 7.0, 190.0, 8.0, 0.5, 195.0, null, null, 900L,
                1000L, "folded", null, null, 150.0, List.of(210.0, 200.0, 150.0), List.of(190.0, 185.0, 199.0), 0.4,
                List.of(0.02, 0.0, 0.08), pipeSteal);
        // b/a 190/200 = 0.95; paired: median of 0.905, 0.925, 1.327 = 0.925
        // pair CI, 3 rounds: the full range of the ratios, 0.905-1.327, at 75%
        assertThat(FeatureBench.tableRow(r))
                .matches("96\\s+16\\s+200\\.0\\s+190\\.0\\s+-\\s+-\\s+0\\.95\\s+0\\.93\\s+0\\.90-1\\.33\\s+-\\s+-");
        assertThat(FeatureBench.HEADER).contains("b/a pair", "pair CI");
        assertThat(FeatureBench.intervalLegend(List.of(r))).endsWith("75% coverage (3 rounds)");
        JsonNode run = Json.fromBytes(FeatureBench.toJsonString(new FeatureBench.Result("id", "out_relu", 2, List.of(r),
                List.of(), null), settings(null)).getBytes(StandardCharsets.UTF_8), JsonNode.class).get("runs").get(0);
        assertThat(run.get("bare_steal_repeats").get(2).asDouble()).isEqualTo(0.08);
        assertThat(run.get("pipeline_steal_repeats").get(1).isNull()).as("unknown steal stays null").isTrue();
        assertThat(run.get("pipeline_over_bare_paired_low").asDouble()).isCloseTo(190.0 / 210, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(run.get("pipeline_over_bare_paired_high").asDouble()).isCloseTo(199.0 / 150, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(run.get("pipeline_over_bare_paired_coverage").asDouble()).isEqualTo(0.75);
    }

    @Test
    void warmUpPassesEndOnceTheJitCompilesForAtMostFivePercentOfAPass() {
        assertThat(FeatureBench.jitQuiet(500, 10_000)).isTrue();
        assertThat(FeatureBench.jitQuiet(501, 10_000)).isFalse();
        assertThat(FeatureBench.jitQuiet(0, 0)).isTrue();
    }

    @Test
    void missingInterpreterMeansTorchSkippedNotAnError() {
        TorchPeer.Availability a = new TorchPeer(Path.of("/nonexistent/python3"), TorchPeer.DEFAULT_SCRIPT).availability();
        assertThat(a.available()).isFalse();
        assertThat(a.detail()).contains("/nonexistent/python3");
        assertThat(TorchPeer.SKIPPED).isEqualTo("torch: skipped (install Debian python3-torch python3-torchvision)");
    }

    @Test
    void interpreterWithoutTorchMeansSkipped(@TempDir Path dir) throws Exception {
        Path fake = dir.resolve("python3");
        Files.writeString(fake, "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n");
        assertThat(fake.toFile().setExecutable(true)).isTrue();
        Path script = Files.writeString(dir.resolve("s.py"), "");
        TorchPeer.Availability a = new TorchPeer(fake, script).availability();
        assertThat(a.available()).isFalse();
        assertThat(a.detail()).contains("No module named 'torch'");
    }

    @Test
    void parsesTheScriptsJsonLine() {
        TorchPeer.Measurement m = TorchPeer.parse("noise\n{\"img_s\": 43.9, \"cpu_ms_per_img\": 45.5, \"impl\": \"torchvision 0.14.1\"}\n");
        assertThat(m.imgS()).isEqualTo(43.9);
        assertThat(m.cpuMsPerImg()).isEqualTo(45.5);
        assertThat(m.impl()).isEqualTo("torchvision 0.14.1");
    }

    @Test
    void theScriptShipsWithTheRepo() {
        assertThat(TorchPeer.locate(TorchPeer.DEFAULT_SCRIPT)).exists();
    }

    @Test
    void settingsRejectBadGrids() {
        assertThatThrownBy(() -> new FeatureBench.Settings("b", "c", List.of(96), List.of(257), 8, 1, 2, false, false,
                Path.of("."), null)).hasMessageContaining("257");
        assertThatThrownBy(() -> new FeatureBench.Settings("b", "c", List.of(96), List.of(8), 8, 1, 0, false, false,
                Path.of("."), null)).hasMessageContaining("threads");
    }

    @Test
    void autoImagesCoverTheTargetDurationInWholeBatches() {
        assertThat(FeatureBench.autoImages(140.0, 15, 16)).isEqualTo(2112); // 2100 rounded up to batches of 16
        assertThat(FeatureBench.autoImages(30.0, 15, 32)).isEqualTo(480);
        assertThat(FeatureBench.autoImages(1.0, 15, 16)).as("at least the floor").isEqualTo(FeatureBench.MIN_AUTO_IMAGES);
        assertThat(FeatureBench.autoImages(1e12, 15, 1)).as("capped").isEqualTo(1_000_000);
    }

    @Test
    void imagesFlagTakesACountOrAutoAndNothingElse() {
        assertThat(BenchFeatures.Features.parseImages("auto")).isEqualTo(FeatureBench.AUTO_IMAGES);
        assertThat(BenchFeatures.Features.parseImages("96")).isEqualTo(96);
        assertThatThrownBy(() -> BenchFeatures.Features.parseImages("0")).hasMessageContaining("--images");
        assertThatThrownBy(() -> BenchFeatures.Features.parseImages("lots")).hasMessageContaining("'lots'");
        assertThatThrownBy(() -> new FeatureBench.Settings("b", "c", List.of(96), List.of(8), 0, 1, 2, false, false,
                Path.of("."), null, "folded", false, false, false, 0, true, true, true,
                java.time.Duration.ZERO, 1, 3, 10, 10, dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE,
                dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE, 128)).hasMessageContaining("auto seconds");
    }

    @Test
    void brokerPolicyFlagTakesIdleOrNiceAndNamesItselfOtherwise() {
        assertThat(BenchFeatures.Features.brokerPolicy("IDLE")).isEqualTo(dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE);
        assertThat(BenchFeatures.Features.brokerPolicy("nice")).isEqualTo(dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.NICE);
        assertThatThrownBy(() -> BenchFeatures.Features.brokerPolicy("low")).hasMessage("--broker-policy: expected idle or nice, got 'low'");
        assertThat(FeatureBench.brokerPriority(dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.NICE, 10)).isEqualTo("nice 10");
        assertThat(settings(null).brokerPolicy()).as("the default").isEqualTo(dev.graft.featureworker.FeatureWorkerOptions.BackgroundPolicy.IDLE);
    }

    @Test
    void benchImagesArePngsOfTheRequestedSize() throws Exception {
        byte[] png = FeatureBench.png(16, 3);
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(png));
        assertThat(img.getWidth()).isEqualTo(16);
        assertThat(FeatureBench.png(16, 3)).isEqualTo(png);
    }

    @Test
    void cachedBenchPngsAreTheOnesMadeAfreshAndFollowTheResolution() {
        FeatureBench.PngCache cache = new FeatureBench.PngCache();
        byte[] third = cache.get(16, 2);
        assertThat(third).isEqualTo(FeatureBench.png(16, 2));
        assertThat(cache.get(16, 2)).as("made once").isSameAs(third);
        assertThat(cache.get(16, 0)).isEqualTo(FeatureBench.png(16, 0));
        assertThat(cache.get(8, 2)).as("another resolution").isEqualTo(FeatureBench.png(8, 2)).isNotEqualTo(third);
        assertThat(cache.get(16, 2)).as("back at 16 px").isEqualTo(third).isNotSameAs(third);
    }

    private static FeatureBench.Run run(int res, int batch, Double bare, Double pipe, Double torch) {
        return new FeatureBench.Run(res, batch, 64, bare, 100.0, pipe, 120.0, 1.0, pipe, torch, torch == null ? null : 5.0, 1000L, 2000L);
    }

    private static FeatureBench.Settings settings(TorchPeer peer) {
        return new FeatureBench.Settings("nsfwjs:mobilenet_v2", "out_relu", List.of(96, 224), List.of(1, 16), 64, 2, 2,
                true, true, Path.of("."), peer);
    }

    @Test
    void settleWaitsForAQuietWindowAndGivesUpAfterTheLimit() throws Exception {
        // CPU ns per 200 ms window: 150 ms, 50 ms, then 10 ms (under 10% of the window: quiet)
        long[] perWindow = {150_000_000L, 50_000_000L, 10_000_000L};
        long[] cpu = {0};
        int[] window = {0};
        FeatureBench.Sleeper fake = ms -> cpu[0] += perWindow[Math.min(window[0]++, perWindow.length - 1)];
        assertThat(FeatureBench.settle(() -> cpu[0], fake, 200, 10_000, 0.10)).isEqualTo(600);
        long[] busy = {0};
        int[] sleeps = {0};
        FeatureBench.Sleeper alwaysBusy = ms -> {
            busy[0] += 100_000_000L;
            sleeps[0]++;
        };
        assertThat(FeatureBench.settle(() -> busy[0], alwaysBusy, 200, 1_000, 0.10)).isEqualTo(-1);
        assertThat(sleeps[0]).as("five windows fit in the limit").isEqualTo(5);
    }

    @Test
    void eachRoundsFreshRigIsPrimedWithTwoBatchesOfAtLeastEightImages() {
        assertThat(FeatureBench.primeImages(1)).isEqualTo(8);
        assertThat(FeatureBench.primeImages(4)).isEqualTo(8);
        assertThat(FeatureBench.primeImages(16)).isEqualTo(32);
    }

    @Test
    void bareRoundsShowTheirContextSwitchesWhereMeasured() {
        assertThat(FeatureBench.switchesShown(new double[] {250, 6.0, 161.62})).isEqualTo(" (161.6 context switches per batch)");
        assertThat(FeatureBench.switchesShown(new double[] {250, 6.0, -1})).isEmpty();
        assertThat(FeatureBench.switchesShown(new double[] {250, 6.0})).isEmpty();
        assertThat(FeatureBench.kernelName("bench-bare")).isEqualTo("bench-bare");
        assertThat(FeatureBench.kernelName("bench-bare-side-by-side")).isEqualTo("bench-bare-side");
    }

    @Test
    void theSummaryNamesTheOpenMpSpinBothSidesRanUnder() {
        assertThat(FeatureBench.ompSpinShown("1000")).isEqualTo("GOMP_SPINCOUNT=1000");
        assertThat(FeatureBench.ompSpinShown(null)).startsWith("libgomp's default");
        assertThat(FeatureBench.ompSpinShown(" ")).startsWith("libgomp's default");
    }
}
