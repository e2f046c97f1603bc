package dev.graft.featureworker.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.ImageHeaders;
import dev.graft.common.image.ImageDecoder;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The featurizers of one worker's inference lanes: a batch decoded on one lane (or the decode thread) may run on
 * another, whose pixel buffer then goes back to the one pool they share; copies of different bases are refused.
 */
class LaneFeaturizersTest {
    static final int SIZE = 8;

    @Test
    void batchDecodedByOneLaneIsExtractedByAnotherIntoTheSharedPool() throws IOException {
        List<BatchFeaturizer> lanes = BatchFeaturizer.lanes(List.of(new MeanBase("copy-a"), new MeanBase("copy-b")),
                new ImageDecoder(), 3);
        BatchFeaturizer.Decoded decoded = lanes.get(0).decode(records(4));
        BatchFeaturizer.Result result = lanes.get(1).extract(decoded);

        assertThat(result.images()).isEqualTo(4);
        assertThat(result.rejections()).isEmpty();
        assertThat(result.rows()).extracting(FeatureRow::imageId).containsExactly("img-0", "img-1", "img-2", "img-3");
        for (FeatureRow row : result.rows()) {
            int i = Integer.parseInt(row.imageId().substring(4));
            assertThat(row.vector()[0]).as("red mean of " + row.imageId()).isEqualTo(10f * (i + 1));
        }
        assertThat(lanes.get(0).freeBuffers()).as("lane b gave the buffer back to the pool lane a took it from").isEqualTo(1);
        assertThat(lanes.get(1).freeBuffers()).isEqualTo(1);
    }

    @Test
    void copiesOfDifferentBasesAreNotLanesOfOneWorker() {
        assertThatThrownBy(() -> BatchFeaturizer.lanes(List.of(new MeanBase("x"), new MeanBase("y") {
            @Override
            public BaseRef ref() {
                return new BaseRef("other", "fake:mean", "mean", SIZE, 3, "none");
            }
        }), new ImageDecoder(), 3)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("copies of one base");
        assertThatThrownBy(() -> BatchFeaturizer.lanes(List.of(), new ImageDecoder(), 3))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * The base's buffers are per batch size: a partial batch made a second set (at 224 px, +190 MB for good after
     * one batch of 15 among batches of 16). Padded, the base sees only the worker's batch size; the padding is
     * zeros and its outputs are dropped.
     */
    @Test
    void partialBatchRunsAsAFullOneOfZerosAndKeepsOnlyItsOwnImages() throws IOException {
        List<long[]> shapes = new ArrayList<>();
        List<float[]> lastRows = new ArrayList<>();
        MeanBase recording = new MeanBase("recording") {
            @Override
            public INDArray extract(INDArray rgb255) {
                shapes.add(rgb255.shape());
                lastRows.add(rgb255.get(org.nd4j.linalg.indexing.NDArrayIndex.point(rgb255.size(0) - 1))
                        .dup().data().asFloat());
                return super.extract(rgb255);
            }
        };
        BatchFeaturizer padded = BatchFeaturizer.lanes(List.of(recording), new ImageDecoder(), 3, 4).get(0);

        BatchFeaturizer.Result full = padded.extract(padded.decode(records(4)));
        BatchFeaturizer.Result partial = padded.extract(padded.decode(records(3)));

        assertThat(shapes).extracting(s -> s[0]).as("both ran as batches of 4").containsExactly(4L, 4L);
        assertThat(lastRows.get(0)).as("the full batch's last row is image 3").contains(40f);
        assertThat(lastRows.get(1)).as("the padding row: zeros, not image 3 left over").containsOnly(0f);
        assertThat(full.rows()).hasSize(4);
        assertThat(partial.images()).isEqualTo(3);
        assertThat(partial.rows()).extracting(FeatureRow::imageId).containsExactly("img-0", "img-1", "img-2");
        for (int i = 0; i < 3; i++) {
            assertThat(partial.rows().get(i).vector()).as("image " + i + " as in the full batch")
                    .containsExactly(full.rows().get(i).vector());
        }

        BatchFeaturizer unpadded = BatchFeaturizer.lanes(List.of(recording), new ImageDecoder(), 3).get(0);
        unpadded.extract(unpadded.decode(records(3)));
        assertThat(shapes.get(2)[0]).as("without padTo a batch runs at its own size").isEqualTo(3L);
    }

    /** Image i is a solid colour with red 10*(i+1). */
    private static List<ConsumerRecord<byte[], byte[]>> records(int n) throws IOException {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            BufferedImage img = new BufferedImage(SIZE, SIZE, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < SIZE; y++) for (int x = 0; x < SIZE; x++) img.setRGB(x, y, (10 * (i + 1)) << 16 | 0x2040);
            ByteArrayOutputStream png = new ByteArrayOutputStream();
            ImageIO.write(img, "png", png);
            ConsumerRecord<byte[], byte[]> r = new ConsumerRecord<>("images", 0, i,
                    ("img-" + i).getBytes(StandardCharsets.UTF_8), png.toByteArray());
            ImageHeaders.put(r.headers(), ImageHeaders.TASK, "t");
            ImageHeaders.put(r.headers(), ImageHeaders.SPLIT, "train");
            out.add(r);
        }
        return out;
    }

    /** Each image's mean per channel; {@code name} only tells copies apart in a failure message. */
    static class MeanBase implements BaseNetwork {
        private final String name;

        MeanBase(String name) {
            this.name = name;
        }

        @Override
        public BaseRef ref() {
            return new BaseRef("fake-" + SIZE, "fake:mean", "mean", SIZE, 3, "none");
        }

        @Override
        public INDArray extract(INDArray rgb255) {
            return rgb255.mean(1, 2);
        }

        @Override
        public void close() {}

        @Override
        public String toString() {
            return name;
        }
    }
}
