package dev.graft.common.base;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class ZooBasesTest {

    @Test
    @Timeout(30)
    void offlineWithEmptyCacheNamesTheCachePath(@TempDir Path zooDir) {
        assertThatThrownBy(() -> BaseNetworks.loadSource(BaseSpec.parse("zoo:vgg16"), zooDir, zooDir, true))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(zooDir.resolve("models").resolve("vgg16").toString())
                .hasMessageContaining("offline");
    }

    @Test
    void zooDefaults() {
        assertThat(ZooBases.nativeSize("vgg16")).isEqualTo(224);
        assertThat(ZooBases.preprocessing("vgg16")).isEqualTo(Preprocessing.VGG_MEAN_RGB);
        assertThat(ZooBases.cachedWeights("resnet50", Path.of("/x").toFile()).toString()).startsWith("/x/models/resnet50");
    }
}
