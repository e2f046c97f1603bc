package dev.graft.common.base;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BaseSpecTest {

    @Test
    void defaultIsNsfwjsMobilenetV2() {
        assertThat(BaseSpec.parse(null)).isEqualTo(new BaseSpec("nsfwjs", "mobilenet_v2", null));
        assertThat(BaseSpec.parse(" ").toString()).isEqualTo("nsfwjs:mobilenet_v2");
    }

    @Test
    void parsesEverySchemeAndRoundTrips() {
        assertThat(BaseSpec.parse("nsfwjs:inception_v3").name()).isEqualTo("inception_v3");
        assertThat(BaseSpec.parse("NSFWJS:MobileNet_V2").toString()).isEqualTo("nsfwjs:mobilenet_v2");
        assertThat(BaseSpec.parse("zoo:vgg16")).isEqualTo(new BaseSpec("zoo", "vgg16", null));
        BaseSpec tfjs = BaseSpec.parse("tfjs:/m/my_net/model.json");
        assertThat(tfjs.path().toString()).isEqualTo("/m/my_net/model.json");
        assertThat(tfjs.shortName()).isEqualTo("my_net");
        BaseSpec keras = BaseSpec.parse("keras:/m/net.h5?pre=tf");
        assertThat(keras.preprocessing()).isEqualTo(Preprocessing.TF);
        assertThat(keras.shortName()).isEqualTo("net");
        assertThat(BaseSpec.parse(keras.toString())).isEqualTo(keras);
        assertThat(BaseSpec.parse("dl4j:/m/g.zip").isFile()).isTrue();
    }

    @Test
    void graftBaseSpecNamesTaskAndBaseVersion() {
        BaseSpec s = BaseSpec.parse("graft-base:fashion/b12");
        assertThat(s.isGraftBase()).isTrue();
        assertThat(s.baseTask()).isEqualTo("fashion");
        assertThat(s.baseVersion()).isEqualTo(12);
        assertThat(s.shortName()).isEqualTo("fashion-b12");
        assertThat(s.toString()).isEqualTo("graft-base:fashion/b12");
        assertThat(BaseSpec.graftBase("fashion", 12)).isEqualTo(s);
        assertThatThrownBy(() -> BaseSpec.parse("graft-base:fashion/v1")).hasMessageContaining("TASK/bN");
        assertThatThrownBy(() -> BaseSpec.parse("graft-base:fashion/b0")).hasMessageContaining("TASK/bN");
    }

    @ParameterizedTest
    @ValueSource(strings = {"mobilenet_v2", "onnx:x.onnx", "nsfwjs:mobilenet_v2_mid", "nsfwjs:", "zoo:alexnet",
            "tfjs:/m/model.bin", "keras:/m/net.zip", "dl4j:/m/g.h5", "keras:/m/net.h5?pre=bogus"})
    void rejectsBadSpecsListingWhatIsAccepted(String spec) {
        assertThatThrownBy(() -> BaseSpec.parse(spec))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("accepted")
                .hasMessageContaining("nsfwjs:mobilenet_v2|inception_v3")
                .hasMessageContaining("zoo:vgg16");
    }
}
