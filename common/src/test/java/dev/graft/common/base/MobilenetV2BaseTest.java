package dev.graft.common.base;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.common.contract.BaseRef;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * nsfwjs mobilenet_v2 through BaseNetworks, against tfjs 4.22 reference outputs. Needs npm and node on first run
 * (the model is fetched into {@code target/test-models}, or {@code -Dgraft.test.models=DIR}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MobilenetV2BaseTest {

    static final double FEATURE_TOL = 1e-4;
    static final double SOFTMAX_TOL = 1e-5;

    Path cache;
    BaseNetworks.Source src;
    JsonNode golden;

    @BeforeAll
    void load() throws Exception {
        cache = Path.of(System.getProperty("graft.test.models", "target/test-models"));
        src = BaseNetworks.loadSource(BaseSpec.parse("nsfwjs:mobilenet_v2"), cache, BaseNetworks.defaultZooDir(), true);
        try (InputStream in = getClass().getResourceAsStream("/golden/nsfwjs-mobilenet_v2.json")) {
            golden = new ObjectMapper().readTree(in);
        }
    }

    @Test
    void cacheIsComplete() throws Exception {
        Path dir = cache.resolve(NsfwjsModels.DIR_NAME);
        assertThat(dir.resolve("mobilenet_v2/model.json")).isRegularFile();
        assertThat(dir.resolve("mobilenet_v2/group1-shard1of1.bin")).hasSize(2_619_461);
        assertThat(dir.resolve("inception_v3/model.json")).isRegularFile();
        try (Stream<Path> s = Files.list(cache)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".tmp"));
        }
    }

    @Test
    void matchesTfjsFeaturesAt96And224AndSoftmaxAt224() {
        // block_12_add at 224 is in the reference file too; left out to keep the suite fast.
        for (int size : new int[] {96, 224}) {
            for (String cut : size == 96 ? List.of("block_12_add", "out_relu") : List.of("out_relu")) {
                BaseNetwork net = BaseNetworks.load(src, cut, size);
                INDArray f = net.extract(GoldenInputs.images(size, 0, 1));
                for (int k = 0; k < 2; k++) {
                    double diff = maxAbsDiff(f.getRow(k).toDoubleVector(), expected(size, k, "features", cut));
                    assertThat(diff).as("%s at %d, image %d", cut, size, k).isLessThanOrEqualTo(FEATURE_TOL);
                }
            }
        }
        BaseNetwork whole = BaseNetworks.load(src, "dense_3", 0);
        INDArray p = whole.extract(GoldenInputs.images(224, 0, 1));
        assertThat(p.shape()).containsExactly(2, 5);
        for (int k = 0; k < 2; k++) {
            double diff = maxAbsDiff(p.getRow(k).toDoubleVector(), expected(224, k, "softmax", "dense_3"));
            assertThat(diff).as("softmax image %d", k).isLessThanOrEqualTo(SOFTMAX_TOL);
        }
    }

    @Test
    void featureShapesAndRef() {
        BaseNetwork mid = BaseNetworks.load(src, "block_12_add", 96);
        assertThat(mid.extract(GoldenInputs.images(96, 0, 1, 2)).shape()).containsExactly(3, 96);
        BaseRef r = mid.ref();
        assertThat(r.spec()).isEqualTo("nsfwjs:mobilenet_v2");
        assertThat(r.cut()).isEqualTo("block_12_add");
        assertThat(r.inputSize()).isEqualTo(96);
        assertThat(r.featureDim()).isEqualTo(96);
        assertThat(r.preprocessing()).isEqualTo("unit");
        assertThat(r.id()).matches("mobilenet_v2-96-block_12_add-[0-9a-f]{16}");

        BaseNetwork dflt = BaseNetworks.load(src, null, 96);
        assertThat(dflt.ref().cut()).isEqualTo("out_relu");
        assertThat(dflt.ref().featureDim()).isEqualTo(1280);
        assertThat(dflt.extract(GoldenInputs.images(96, 3)).shape()).containsExactly(1, 1280);
        assertThatThrownBy(() -> dflt.extract(GoldenInputs.images(64, 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("96");
    }

    @Test
    void baseIdDependsOnCutSizeAndPreprocessingAndIsStable() {
        String a = BaseNetworks.baseId(src, "block_12_add", 96);
        assertThat(BaseNetworks.baseId(src, "block_12_add", 96)).isEqualTo(a);
        assertThat(BaseNetworks.load(src, "block_12_add", 96).ref().id()).isEqualTo(a);
        assertThat(BaseNetworks.baseId(src, "out_relu", 96)).isNotEqualTo(a);
        assertThat(BaseNetworks.baseId(src, "block_12_add", 128)).isNotEqualTo(a);
        BaseNetworks.Source tf = new BaseNetworks.Source(src.spec(), src.graph(), src.weightsDigest(),
                src.nativeSize(), Preprocessing.TF, true);
        assertThat(BaseNetworks.baseId(tf, "block_12_add", 96)).isNotEqualTo(a);
        // A fresh import of the same files gives the same id.
        BaseNetworks.Source again = BaseNetworks.loadSource(BaseSpec.parse("nsfwjs:mobilenet_v2"), cache,
                BaseNetworks.defaultZooDir(), true);
        assertThat(BaseNetworks.baseId(again, "block_12_add", 96)).isEqualTo(a);
    }

    @Test
    void severalCutsInOnePassGiveTheSingleCutLoadsVectorsAndIds() {
        List<String> cuts = List.of("block_9_add", "block_12_add", "out_relu");
        BaseNetwork multi = BaseNetworks.loadCuts(src, cuts, 96);
        INDArray x = GoldenInputs.images(96, 0, 1, 2);
        List<INDArray> all = multi.extractAll(x);
        assertThat(all).hasSize(3);
        assertThat(multi.refs()).extracting(BaseRef::cut).containsExactlyElementsOf(cuts);
        assertThat(multi.ref()).isEqualTo(multi.refs().get(0));
        for (int i = 0; i < cuts.size(); i++) {
            BaseNetwork single = BaseNetworks.load(src, cuts.get(i), 96);
            assertThat(multi.refs().get(i)).as(cuts.get(i)).isEqualTo(single.ref());
            INDArray expected = single.extract(x);
            assertThat(all.get(i).shape()).as(cuts.get(i)).containsExactly(3, single.ref().featureDim());
            assertThat(maxAbsDiff(all.get(i).data().asDouble(), expected.data().asDouble()))
                    .as(cuts.get(i)).isLessThanOrEqualTo(1e-5);
        }
        assertThat(multi.refs()).extracting(BaseRef::id).doesNotHaveDuplicates();
    }

    @Test
    void aCutListedTwiceIsRefused() {
        assertThatThrownBy(() -> BaseNetworks.loadCuts(src, List.of("block_12_add", "block_12_add"), 96))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("twice");
        assertThatThrownBy(() -> BaseNetworks.loadCuts(src, List.of(), 96))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void nchwConversionGivesTheSameFeatures() {
        CutGraphNetwork nhwc = (CutGraphNetwork) BaseNetworks.load(src, "out_relu", 96, "dl4j");
        org.deeplearning4j.nn.graph.ComputationGraph converted = BaseNetworks.toNchw(nhwc.graph());
        assertThat(converted).isNotNull();
        CutGraphNetwork nchw = new CutGraphNetwork(converted, Preprocessing.UNIT, false, 96, null);
        INDArray x = GoldenInputs.images(96, 4, 5);
        double diff = maxAbsDiff(nhwc.extract(x).data().asDouble(), nchw.extract(x).data().asDouble());
        assertThat(diff).isLessThanOrEqualTo(1e-5);
    }

    @Test
    void unknownCutListsValidNames() {
        assertThatThrownBy(() -> BaseNetworks.load(src, "block_99_add", 96))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("block_99_add")
                .hasMessageContaining("block_12_add");
    }

    @Test
    void denseCutNeedsNativeSize() {
        assertThatThrownBy(() -> BaseNetworks.load(src, "dense_3", 96))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("224");
    }

    @Test
    void layerNamesInTopologicalOrder() {
        List<String> names = src.graph().getConfiguration().getTopologicalOrderStr();
        assertThat(names).startsWith("input_1").contains("block_12_add", "out_relu").endsWith("dense_3");
    }

    private double[] expected(int size, int image, String kind, String layer) {
        for (JsonNode c : golden.get("cases")) {
            if (c.get("size").asInt() == size && c.get("image").asInt() == image) {
                JsonNode v = c.get(kind).get(layer);
                double[] d = new double[v.size()];
                for (int i = 0; i < d.length; i++) d[i] = v.get(i).asDouble();
                return d;
            }
        }
        throw new AssertionError("no golden case " + size + "/" + image);
    }

    private static double maxAbsDiff(double[] a, double[] b) {
        assertThat(a).hasSameSizeAs(b);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    @Test
    void dl4jZipSpecRoundTripsTheImportedGraph(@TempDir Path tmp) throws Exception {
        Path zip = tmp.resolve("mobilenet_v2.zip");
        ModelSerializer.writeModel(src.graph(), zip.toFile(), false);
        INDArray input = GoldenInputs.images(96, 0, 2);
        try (BaseNetwork imported = BaseNetworks.load(src, "block_12_add", 96);
             BaseNetwork restored = BaseNetworks.load("dl4j:" + zip, "block_12_add", 96, cache)) {
            assertThat(restored.ref().featureDim()).isEqualTo(96);
            assertThat(restored.ref().id()).isNotEqualTo(imported.ref().id()); // different weights source, own id
            INDArray a = imported.extract(input);
            INDArray b = restored.extract(input);
            assertThat(a.sub(b).amaxNumber().doubleValue()).isLessThan(1e-5);
        }
    }
}
