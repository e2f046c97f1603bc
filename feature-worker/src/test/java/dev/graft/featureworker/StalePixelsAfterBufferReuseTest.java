package dev.graft.featureworker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.ImageHeaders;
import dev.graft.common.image.ImageDecoder;
import dev.graft.featureworker.internal.BatchFeaturizer;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * The featurizer decodes each batch into a pooled pixel buffer that still holds the previous batch's pixels, and
 * copies it into the previous batch's native input array when the sizes match. A batch after a larger one, with a
 * rejected image in it, or after one of the same size, must give exactly the features a fresh featurizer gives.
 */
class StalePixelsAfterBufferReuseTest {
    private static final int SIZE = 28;

    @Test
    void aSmallerBatchAfterALargerOneSeesNoneOfItsPixels() {
        BatchFeaturizer reused = new BatchFeaturizer(new FakeBase(SIZE, 2), new ImageDecoder());
        List<ConsumerRecord<byte[], byte[]>> bright = List.of(record("w1", flat(250)), record("w2", flat(240)),
                record("w3", flat(230)));
        assertThat(reused.extract(reused.decode(bright)).images()).isEqualTo(3);

        List<ConsumerRecord<byte[], byte[]>> next = List.of(record("dark", flat(20)),
                record("bad", Corpus.truncatedPng()));
        BatchFeaturizer.Result afterReuse = reused.extract(reused.decode(next));
        BatchFeaturizer fresh = new BatchFeaturizer(new FakeBase(SIZE, 2), new ImageDecoder());
        BatchFeaturizer.Result expected = fresh.extract(fresh.decode(next));

        assertThat(afterReuse.images()).isEqualTo(1);
        assertThat(afterReuse.rejections()).extracting(r -> new String(r.record().key(), StandardCharsets.UTF_8))
                .containsExactly("bad");
        assertThat(vectors(afterReuse)).as("mean and max of the dark image alone")
                .usingElementComparator(java.util.Arrays::compare).containsExactlyElementsOf(vectors(expected));
        assertThat(vectors(afterReuse).get(1)).as("its max: 20, not a bright leftover").containsOnly(20f);
    }

    @Test
    void aBatchOfTheSameSizeInTheReusedInputArraySeesOnlyItsOwnPixels() {
        BatchFeaturizer reused = new BatchFeaturizer(new FakeBase(SIZE, 2), new ImageDecoder());
        assertThat(reused.extract(reused.decode(List.of(record("w1", flat(250)), record("w2", flat(240))))).images())
                .isEqualTo(2);
        List<ConsumerRecord<byte[], byte[]>> next = List.of(record("d1", flat(20)), record("d2", flat(30)));
        BatchFeaturizer.Result afterReuse = reused.extract(reused.decode(next));
        BatchFeaturizer fresh = new BatchFeaturizer(new FakeBase(SIZE, 2), new ImageDecoder());
        assertThat(vectors(afterReuse)).usingElementComparator(java.util.Arrays::compare)
                .containsExactlyElementsOf(vectors(fresh.extract(fresh.decode(next))));
        assertThat(vectors(afterReuse).get(2)).as("d1's max: 20, not a bright leftover").containsOnly(20f);
    }

    @Test
    void aDecodedBatchIsExtractedOnce() {
        BatchFeaturizer f = new BatchFeaturizer(new FakeBase(SIZE), new ImageDecoder());
        BatchFeaturizer.Decoded d = f.decode(List.of(record("a", Corpus.fashionLikePng(1))));
        f.extract(d);
        assertThatThrownBy(() -> f.extract(d)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("extracted already");
    }

    private static List<float[]> vectors(BatchFeaturizer.Result r) {
        List<float[]> out = new ArrayList<>();
        for (FeatureRow row : r.rows()) out.add(row.vector());
        return out;
    }

    private static byte[] flat(int gray) {
        BufferedImage img = new BufferedImage(SIZE, SIZE, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) img.getRaster().setSample(x, y, 0, gray);
        }
        return Corpus.encode(img, "png");
    }

    private static ConsumerRecord<byte[], byte[]> record(String id, byte[] png) {
        ConsumerRecord<byte[], byte[]> r = new ConsumerRecord<>("images", 0, 0, id.getBytes(StandardCharsets.UTF_8), png);
        ImageHeaders.put(r.headers(), ImageHeaders.TASK, "t");
        ImageHeaders.put(r.headers(), ImageHeaders.SPLIT, "train");
        return r;
    }
}
