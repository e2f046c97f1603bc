package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.graft.common.contract.Split;
import java.io.ByteArrayInputStream;
import java.util.Optional;
import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

class TrainedHeadTest {

    private static VectorStore store() {
        VectorStore s = new VectorStore("task", "base", 24);
        Random r = new Random(5);
        Blobs.fill(s, r, 0, 3, 3, 40, Split.TRAIN, "tr");
        Blobs.fill(s, r, 0, 3, 3, 20, Split.TEST, "te");
        return s;
    }

    @Test
    void byteRoundTripIsExact() throws Exception {
        VectorStore store = store();
        for (HeadConfig c : new HeadConfig[] {
                HeadConfig.defaults().withHiddenUnits(16).withEpochs(3),
                HeadConfig.defaults().withHiddenUnits(0).withEpochs(3).withStandardize(true)}) {
            TrainedHead head = new HeadTrainer().train(c, store, Optional.empty());
            byte[] bytes = head.toBytes();
            TrainedHead back = TrainedHead.fromBytes(bytes);

            INDArray x = store.test().features();
            assertThat(back.predict(x).toFloatMatrix()).isEqualTo(head.predict(x).toFloatMatrix());
            float[] one = x.getRow(0).toFloatVector();
            assertThat(back.predict(one)).isEqualTo(head.predict(one)).hasSize(3);
            assertThat(back.labels()).isEqualTo(head.labels());
            assertThat(back.config()).isEqualTo(c);
            assertThat(back.standardizer()).isEqualTo(head.standardizer());
            assertThat(back.task()).isEqualTo("task");
            assertThat(back.baseId()).isEqualTo("base");
            assertThat(back.inputDim()).isEqualTo(24);
            assertThat(back.info()).isEqualTo(head.info().withoutTime());

            // deterministic bytes: same head -> same bytes and hash, also after re-serialising a restored copy
            assertThat(head.toBytes()).isEqualTo(bytes);
            assertThat(TrainedHead.fromBytes(bytes).sha256()).isEqualTo(head.sha256());
            assertThat(head.sha256()).isEqualTo(TrainedHead.sha256(bytes)).hasSize(64);

            // the inner model is a plain ModelSerializer zip
            MultiLayerNetwork inner = ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(
                    unzipEntry(bytes, "model.zip")), false);
            assertThat(inner.params().toFloatVector()).isEqualTo(head.network().params().toFloatVector());
        }
    }

    @Test
    void differentHeadsHaveDifferentHashes() {
        VectorStore store = store();
        HeadConfig c = HeadConfig.defaults().withHiddenUnits(8).withEpochs(1);
        String a = new HeadTrainer().train(c, store, Optional.empty()).sha256();
        String b = new HeadTrainer().train(c.withSeed(99), store, Optional.empty()).sha256();
        String a2 = new HeadTrainer().train(c, store, Optional.empty()).sha256();
        assertThat(a).isNotEqualTo(b).isEqualTo(a2);
    }

    @Test
    void rejectsForeignBytesAndWrongInput() {
        assertThatThrownBy(() -> TrainedHead.fromBytes(new byte[] {1, 2, 3})).isInstanceOf(IllegalArgumentException.class);
        TrainedHead head = new HeadTrainer().train(HeadConfig.defaults().withHiddenUnits(4).withEpochs(1), store(),
                Optional.empty());
        assertThatThrownBy(() -> head.predict(new float[5])).hasMessageContaining("[n, 24]");
    }

    private static byte[] unzipEntry(byte[] zip, String name) throws Exception {
        try (java.util.zip.ZipInputStream z = new java.util.zip.ZipInputStream(new ByteArrayInputStream(zip))) {
            for (java.util.zip.ZipEntry e; (e = z.getNextEntry()) != null; ) {
                if (e.getName().equals(name)) {
                    return z.readAllBytes();
                }
            }
        }
        throw new AssertionError("no entry " + name);
    }
}
