package dev.graft.common.base;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * nsfwjs inception_v3 default cut (mixed10, 2048) against tfjs. Its Concatenate vertices only run in NCHW
 * in DL4J, so this also covers the NHWC-to-NCHW conversion.
 */
class InceptionV3BaseTest {

    @Test
    void mixed10MatchesTfjs() throws Exception {
        Path cache = Path.of(System.getProperty("graft.test.models", "target/test-models"));
        BaseNetwork net = BaseNetworks.load("nsfwjs:inception_v3", null, 0, cache);
        assertThat(net.ref().cut()).isEqualTo("mixed10");
        assertThat(net.ref().inputSize()).isEqualTo(299);
        assertThat(net.ref().featureDim()).isEqualTo(2048);
        // Conv, BN, concat, max/avg pooling: every vertex runs on the folded executor, checked against DL4J at load.
        assertThat(net.executor()).isEqualTo("folded");
        JsonNode golden;
        try (InputStream in = getClass().getResourceAsStream("/golden/nsfwjs-inception_v3.json")) {
            golden = new ObjectMapper().readTree(in);
        }
        JsonNode want = golden.get("cases").get(0).get("features").get("mixed10");
        double[] got = net.extract(GoldenInputs.images(299, 0)).toDoubleVector();
        double max = 0;
        for (int i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i] - want.get(i).asDouble()));
        assertThat(max).isLessThanOrEqualTo(1e-4);
    }
}
