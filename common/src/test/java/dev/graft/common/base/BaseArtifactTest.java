package dev.graft.common.base;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The graft-base-zip-v1 artifact of a (here: not fine-tuned) MobileNetV2 cut at block_12_add, 96 px. */
class BaseArtifactTest {

    @Test
    void artifactRoundTripGivesTheSameFeaturesAndTheIdOfTheDl4jFile(@TempDir Path tmp) throws Exception {
        BaseNetworks.Source src = BaseNetworks.loadSource(BaseSpec.parse("nsfwjs:mobilenet_v2"),
                BaseNetworks.defaultCacheDir(), BaseNetworks.defaultZooDir(), true);
        CutGraphNetwork live = (CutGraphNetwork) BaseNetworks.load(src, "block_12_add", 96);
        byte[] head = {1, 2, 3};
        BaseArtifact a = BaseArtifact.of("fmnist", 1, live.graph(), "block_12_add", 96, Preprocessing.UNIT,
                "block_12_expand", head);
        byte[] bytes = a.toBytes();
        assertThat(a.toBytes()).as("same content, same bytes").isEqualTo(bytes);

        BaseArtifact back = BaseArtifact.read(bytes);
        assertThat(back.ref()).isEqualTo(a.ref());
        assertThat(back.ref().spec()).isEqualTo("graft-base:fmnist/b1");
        assertThat(back.ref().id()).startsWith("fmnist-b1-96-block_12_add-");
        assertThat(back.ref().featureDim()).isEqualTo(live.ref().featureDim());
        assertThat(back.freezePoint()).isEqualTo("block_12_expand");
        assertThat(back.headZip()).isEqualTo(head);

        INDArray x = Nd4j.rand(DataType.FLOAT, 3, 96, 96, 3).muli(255);
        INDArray expected = live.extract(x);
        try (BaseNetwork loaded = back.network()) {
            assertThat(loaded.ref()).isEqualTo(a.ref());
            assertThat(loaded.extract(x).equalsWithEps(expected, 0)).as("bit-identical features").isTrue();
        }

        Path file = tmp.resolve(back.baseFileName());
        Files.write(file, back.baseZip());
        try (BaseNetwork asFile = BaseNetworks.load("dl4j:" + file + "?pre=unit", "block_12_add", 96,
                BaseNetworks.defaultCacheDir())) {
            assertThat(asFile.ref().id()).as("contract: the id of base.zip loaded as a dl4j: file").isEqualTo(a.ref().id());
        }
    }

    @Test
    void zipWithoutBaseEntriesIsRejectedNamingTheFormat() throws Exception {
        java.io.ByteArrayOutputStream bos = new java.io.ByteArrayOutputStream();
        try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(bos)) {
            z.putNextEntry(new java.util.zip.ZipEntry("model.zip"));
            z.write(1);
            z.closeEntry();
        }
        assertThatThrownBy(() -> BaseArtifact.read(bos.toByteArray()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a graft-base-zip-v1");
    }
}
