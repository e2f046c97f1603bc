package dev.graft.featureworker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.graft.common.base.BaseArtifact;
import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.base.BaseResolver;
import dev.graft.common.base.BaseSpec;
import dev.graft.common.base.Preprocessing;
import dev.graft.common.contract.FeatureBatchCodec;
import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.ImageHeaders;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.kafka.TopicAdmin;
import dev.graft.common.model.ModelRegistry;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A base-published event for a real base artifact (MobileNetV2 cut at block_12_add, 96 px, written with
 * {@link BaseArtifact}) over an images topic of real Fashion-MNIST images: the feature worker's {@link BaseFollower}
 * featurizes the whole log with the new base, exactly once per image even across a follower restart, and the
 * original base's features stay as they were.
 */
class RefeaturizationIT {
    static final int IMAGES = 300;
    static final String TASK = "fmnist";

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void publishedBaseRefeaturizesEveryImageOnceAndLeavesTheOriginalBasesFeatures(@TempDir Path tmp) throws Exception {
        Topics topics = Topics.withPrefix("refeat.");
        BaseNetworks.Source src = BaseNetworks.loadSource(BaseSpec.parse("nsfwjs:mobilenet_v2"),
                BaseNetworks.defaultCacheDir(), BaseNetworks.defaultZooDir(), true);
        try (KafkaTestCluster kafka = KafkaTestCluster.start();
             BaseNetwork original = BaseNetworks.load(src, "block_2_add", 64)) {
            KafkaSettings settings = kafka.settings();
            try (Admin admin = settings.admin()) {
                TopicAdmin.ensureTopics(admin, topics, 2);
            }
            List<String> ids = publishImages(settings, topics);

            // The original base featurizes the log in the main group.
            FeatureWorkerOptions opts = FeatureWorkerOptions.defaults(topics, "refeat", "w0").withBatchSize(16);
            FeatureWorker main = FeatureWorker.create(opts, settings, original);
            Thread mt = new Thread(main, "main-worker");
            mt.start();
            await().atMost(Duration.ofMinutes(2)).until(() -> main.featurizedCount() >= IMAGES);
            List<String> originalBefore = snapshot(settings, topics, original.ref().id());
            assertThat(originalBefore).hasSize(IMAGES);

            // A fine-tune worker publishes base version 1 of the task (here: the pretrained weights, cut lower).
            BaseArtifact artifact = BaseArtifact.of(TASK, 1, BaseNetworks.cutGraphCopy(src, "block_12_add"),
                    "block_12_add", 96, Preprocessing.UNIT, "block_12_expand", new byte[] {1, 2, 3});
            ModelRegistry registry = new ModelRegistry(topics, () -> settings.consumer(null));
            try (Producer<byte[], byte[]> p = settings.transactionalProducer("refeat-publisher")) {
                p.beginTransaction();
                registry.publish(p, new ModelUpdateEvent(ModelUpdateEvent.BASE_PUBLISHED, TASK, 1, Instant.now(),
                        artifact.ref(), List.of(), null, null, null), artifact.toBytes(), BaseArtifact.FORMAT);
                p.commitTransaction();
            }
            String newId = artifact.ref().id();
            BaseResolver resolver = new BaseResolver(registry, tmp.resolve("bases"), BaseNetworks.defaultCacheDir());
            BaseFollower.BaseLoader loader = ref -> resolver.load(ref.spec(), ref.cut(), ref.inputSize());

            // A follower starts featurizing with the new base, is stopped midway, and a restarted one finishes.
            BaseFollower first = BaseFollower.create(opts, "refeat", settings, loader, 2, Set.of(original.ref().id()));
            Thread ft = new Thread(first, "follower-1");
            ft.start();
            await().atMost(Duration.ofMinutes(2)).until(() -> first.featurizedCount() >= 48);
            assertThat(first.followedBaseIds()).containsExactly(newId);
            first.close();
            ft.join(35_000);
            assertThat(ft.isAlive()).isFalse();
            long done = rowsOf(settings, topics, newId).size();
            assertThat(done).as("stopped midway").isLessThan(IMAGES);

            BaseFollower second = BaseFollower.create(opts, "refeat", settings, loader, 2, Set.of(original.ref().id()));
            Thread st = new Thread(second, "follower-2");
            st.start();
            try {
                await().atMost(Duration.ofMinutes(2)).until(() -> rowsOf(settings, topics, newId).size() >= IMAGES);
                List<String> refeaturized = rowsOf(settings, topics, newId);
                assertThat(refeaturized).as("every image exactly once under the new base")
                        .doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(ids);
                assertThat(second.featurizedCount()).as("the restarted follower went on from the committed offsets")
                        .isEqualTo(IMAGES - done);
                assertThat(snapshot(settings, topics, original.ref().id())).as("original base's features untouched")
                        .containsExactlyElementsOf(originalBefore);
            } finally {
                second.close();
                main.close();
                st.join(35_000);
                mt.join(35_000);
            }
            assertThat(st.isAlive() || mt.isAlive()).isFalse();
        }
    }

    /** Image ids of the committed feature rows of one base. */
    private static List<String> rowsOf(KafkaSettings settings, Topics topics, String baseId) {
        return rows(settings, topics, baseId).stream().map(FeatureRow::imageId).toList();
    }

    /** The committed feature rows of one base as "id@source:vector", in log order. */
    private static List<String> snapshot(KafkaSettings settings, Topics topics, String baseId) {
        return rows(settings, topics, baseId).stream()
                .map(r -> r.imageId() + "@" + r.source() + ":" + java.util.Arrays.toString(r.vector())).toList();
    }

    private static List<FeatureRow> rows(KafkaSettings settings, Topics topics, String baseId) {
        List<FeatureRow> out = new ArrayList<>();
        try (FeatureBatchCodec codec = new FeatureBatchCodec()) {
            for (ConsumerRecord<byte[], byte[]> r : KafkaReads.readCommitted(settings, topics.features(), Duration.ofSeconds(30))) {
                for (FeatureRow row : codec.decode(r.value())) {
                    if (row.baseId().equals(baseId)) out.add(row);
                }
            }
        }
        return out;
    }

    private static List<String> publishImages(KafkaSettings settings, Topics topics) throws Exception {
        Path dir = Path.of("/usr/share/datasets/fashion-mnist");
        byte[][] pixels = idxImages(dir.resolve("t10k-images-idx3-ubyte.gz"), IMAGES);
        byte[] labels = idxLabels(dir.resolve("t10k-labels-idx1-ubyte.gz"), IMAGES);
        List<String> ids = new ArrayList<>();
        try (Producer<byte[], byte[]> p = settings.producer()) {
            for (int i = 0; i < IMAGES; i++) {
                String id = "fm-" + i;
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topics.images(), id.getBytes(), png(pixels[i]));
                ImageHeaders.put(r.headers(), ImageHeaders.TASK, TASK);
                ImageHeaders.put(r.headers(), ImageHeaders.LABEL, "c" + labels[i]);
                p.send(r).get();
                ids.add(id);
            }
        }
        return ids;
    }

    private static byte[] png(byte[] gray28) throws IOException {
        BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        img.getRaster().setDataElements(0, 0, 28, 28, gray28);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    private static byte[][] idxImages(Path gz, int n) throws IOException {
        try (DataInputStream in = new DataInputStream(new GZIPInputStream(Files.newInputStream(gz)))) {
            in.readInt();
            in.readInt();
            int rows = in.readInt();
            int cols = in.readInt();
            byte[][] out = new byte[n][rows * cols];
            for (byte[] img : out) in.readFully(img);
            return out;
        }
    }

    private static byte[] idxLabels(Path gz, int n) throws IOException {
        try (DataInputStream in = new DataInputStream(new GZIPInputStream(Files.newInputStream(gz)))) {
            in.readInt();
            in.readInt();
            byte[] out = new byte[n];
            in.readFully(out);
            return out;
        }
    }
}
