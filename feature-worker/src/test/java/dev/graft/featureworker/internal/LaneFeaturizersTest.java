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
