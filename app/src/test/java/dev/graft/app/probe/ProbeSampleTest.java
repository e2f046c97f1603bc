package dev.graft.app.probe;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.contract.ImageHeaders;
import dev.graft.common.contract.Split;
import dev.graft.producer.ClassFolderSource;
import dev.graft.producer.ImageSource;
import dev.graft.producer.LabelledImage;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProbeSampleTest {

    @Test
    void classSortedFolderSampleStillHasEveryClass(@TempDir Path dir) throws Exception {
        for (String c : new String[] {"a", "b", "c"}) {
            Files.createDirectories(dir.resolve(c));
            for (int i = 0; i < 40; i++) {
                ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), "png", dir.resolve(c).resolve(i + ".png").toFile());
            }
        }
        ProbeSample s;
        try (ClassFolderSource src = new ClassFolderSource(dir)) {
            s = ProbeSample.fromSource(src, 30, 25);
        }
        // The ids hold the random temp dir: a different draw on every run, always exactly 30 of all three classes
        // (a class is missing from a uniform sample of 30 of 120 with probability < 1e-5).
        assertThat(s.images()).hasSize(30);
        assertThat(s.images().stream().map(ProbeSample.Image::id).distinct()).hasSize(30);
        Set<String> labels = s.images().stream().map(ProbeSample.Image::label).collect(Collectors.toSet());
        assertThat(labels).containsExactlyInAnyOrder("a", "b", "c");
        for (ProbeSample.Image img : s.images()) {
            assertThat(img.validation()).isEqualTo(Split.assign(img.id(), 25, 0) == Split.VALIDATION);
        }
        assertThat(s.trainCount() + s.validationCount()).isEqualTo(s.images().size());
    }

    @Test
    void sampleIsTheLimitImagesWithTheSmallestDrawInReadingOrder() {
        List<String> ids = ProbeSample.fromSource(new Announcing(40, 1000), 30, 10).images().stream()
                .map(ProbeSample.Image::id).toList();
        List<String> expected = java.util.stream.IntStream.range(0, 40).mapToObj(i -> "img-" + i)
                .sorted(java.util.Comparator.comparingDouble(id -> Split.percentile("probe-sample:" + id)))
                .limit(30).sorted(java.util.Comparator.comparingInt(id -> Integer.parseInt(id.substring(4))))
                .toList();
        assertThat(ids).isEqualTo(expected);
        // the announced count does not matter, nor does it for a source with fewer images than the limit
        assertThat(ProbeSample.fromSource(new Announcing(40, -1), 30, 10).images().stream().map(ProbeSample.Image::id))
                .isEqualTo(expected);
        assertThat(ProbeSample.fromSource(new Announcing(12, 1000), 30, 10).images()).hasSize(12);
    }

    /** {@code n} tiny labelled images whose source claims {@code announced}. */
    private static final class Announcing implements ImageSource {
        private final int n;
        private final long announced;
        private int i;

        Announcing(int n, long announced) {
            this.n = n;
            this.announced = announced;
        }

        @Override
        public boolean hasNext() {
            return i < n;
        }

        @Override
        public LabelledImage next() {
            int k = i++;
            return new LabelledImage("img-" + k, new byte[] {(byte) k}, "image/png", "c" + (k % 3), null);
        }

        @Override
        public long expectedCount() {
            return announced;
        }

        @Override
        public String describe() {
            return "announcing";
        }
    }

    @Test
    void topicRecordsOfOtherTasksUnlabelledOrBrokenAreSkipped() {
        assertThat(ProbeSample.labelledSplit(record("t", "x", "validation"), "t")).contains(Split.VALIDATION);
        assertThat(ProbeSample.labelledSplit(record("t", "x", "test"), "t")).contains(Split.TEST);
        assertThat(ProbeSample.labelledSplit(record("other", "x", "train"), "t")).isEmpty();
        assertThat(ProbeSample.labelledSplit(record("t", null, "train"), "t")).isEmpty();
        assertThat(ProbeSample.labelledSplit(record("t", "x", "bogus"), "t")).isEmpty();
        assertThat(ProbeSample.labelledSplit(record("t", "x", null), "t")).isPresent();
    }

    private static ConsumerRecord<byte[], byte[]> record(String task, String label, String split) {
        ConsumerRecord<byte[], byte[]> r = new ConsumerRecord<>("images", 0, 0, "id-1".getBytes(StandardCharsets.UTF_8), new byte[] {1});
        ImageHeaders.put(r.headers(), ImageHeaders.TASK, task);
        ImageHeaders.put(r.headers(), ImageHeaders.LABEL, label);
        ImageHeaders.put(r.headers(), ImageHeaders.SPLIT, split);
        return r;
    }
}
