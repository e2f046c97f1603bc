package dev.graft.featureworker;

import static dev.graft.featureworker.KafkaReads.header;
import static dev.graft.featureworker.KafkaReads.str;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.contract.DeadLetterHeaders;
import dev.graft.common.contract.FeatureBatchCodec;
import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.ImageHeaders;
import dev.graft.common.contract.Topics;
import dev.graft.common.image.ImageRejectedException;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.kafka.TopicAdmin;
import java.awt.image.BufferedImage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A corpus of hostile and unusual images, mixed into good Fashion-MNIST-like PNGs, through a real feature
 * worker on a real broker with the real pretrained base (cut early and run small so it is cheap). Every
 * bad record lands exactly once on the dead-letter topic with its key, value and reason; every good and
 * every edge image that has a defined "featurized" outcome lands exactly once on the features topic; the
 * worker keeps running. The outcomes asserted here are the table in docs/contracts.md.
 */
class BadImageCorpusIT {
    static final String TASK = "corpus";
    static final int GOOD = 48;

    /** A bad record's expected dead-letter stage and rejection reason (null: not an ImageRejectedException). */
    record Bad(byte[] value, boolean taskHeader, String stage, String exceptionClass, String reasonPrefix) {}

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void badImagesAreDeadLetteredOnceGoodOnesFeaturizedOnceAndTheWorkerGoesOn() throws Exception {
        String rejected = ImageRejectedException.class.getName();
        Map<String, Bad> bad = new LinkedHashMap<>();
        bad.put("bad-zero-bytes", new Bad(new byte[0], true, "guard", rejected, "EMPTY"));
        bad.put("bad-text", new Bad(Corpus.text(), true, "decode", rejected, "UNSUPPORTED_FORMAT"));
        bad.put("bad-truncated-png", new Bad(Corpus.truncatedPng(), true, "decode", rejected, "CORRUPT"));
        bad.put("bad-png-bomb-65535", new Bad(Corpus.pngHeaderOnly(65535, 65535), true, "guard", rejected, "TOO_MANY_PIXELS"));
        bad.put("bad-jpeg-declares-60000x60000", new Bad(Corpus.jpegDeclaring(60000, 60000), true, "guard", rejected, "TOO_MANY_PIXELS"));
        bad.put("bad-aspect-2000x10", new Bad(Corpus.encode(Corpus.noise(2000, 10, BufferedImage.TYPE_INT_RGB, 5), "png"),
                true, "guard", rejected, "BAD_ASPECT"));
        bad.put("bad-no-task-header", new Bad(Corpus.fashionLikePng(99), false, "contract",
                IllegalArgumentException.class.getName(), null));

        Map<String, byte[]> edge = new LinkedHashMap<>(); // defined outcome: featurized
        edge.put("edge-gray8", Corpus.encode(Corpus.noise(40, 30, BufferedImage.TYPE_BYTE_GRAY, 1), "png"));
        edge.put("edge-gray16", Corpus.encode(Corpus.noise(30, 40, BufferedImage.TYPE_USHORT_GRAY, 2), "png"));
        edge.put("edge-rgba-alpha", Corpus.encode(Corpus.noise(32, 32, BufferedImage.TYPE_INT_ARGB, 3), "png"));
        edge.put("edge-cmyk-jpeg", Corpus.fourChannelJpeg());
        edge.put("edge-palette-gif", Corpus.encode(Corpus.noise(20, 20, BufferedImage.TYPE_BYTE_INDEXED, 4), "gif"));
        edge.put("edge-aspect-20-to-1", Corpus.encode(Corpus.noise(400, 20, BufferedImage.TYPE_INT_RGB, 6), "png"));
        edge.put("edge-1x1", Corpus.encode(Corpus.noise(1, 1, BufferedImage.TYPE_INT_RGB, 7), "png"));

        Topics topics = Topics.withPrefix("corpus.");
        try (KafkaTestCluster kafka = KafkaTestCluster.start();
             BaseNetwork base = BaseNetworks.load("nsfwjs:mobilenet_v2", "block_2_add", 64, BaseNetworks.defaultCacheDir())) {
            // the cheap cut loads and runs: 24-d vectors (block_2_add has 24 channels)
            assertThat(base.extract(Nd4j.rand(2, 64, 64, 3).muli(255)).shape()).containsExactly(2, base.ref().featureDim());
            KafkaSettings settings = kafka.settings();
            try (Admin admin = settings.admin()) {
                TopicAdmin.ensureTopics(admin, topics, 2);
            }

            // Good images with bad and edge ones spread between them.
            List<String> order = new ArrayList<>();
            for (int i = 0; i < GOOD; i++) {
                order.add("good-" + i);
            }
            List<String> odd = new ArrayList<>(bad.keySet());
            odd.addAll(edge.keySet());
            for (int i = 0; i < odd.size(); i++) {
                order.add(3 + i * 3, odd.get(i));
            }
            Map<String, RecordMetadata> written = new HashMap<>();
            Map<String, byte[]> values = new HashMap<>();
            try (Producer<byte[], byte[]> p = settings.producer()) {
                for (String id : order) {
                    byte[] value = id.startsWith("good-") ? Corpus.fashionLikePng(id.hashCode())
                            : bad.containsKey(id) ? bad.get(id).value() : edge.get(id);
                    ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topics.images(), id.getBytes(), value);
                    if (!bad.containsKey(id) || bad.get(id).taskHeader()) {
                        ImageHeaders.put(r.headers(), ImageHeaders.TASK, TASK);
                    }
                    ImageHeaders.put(r.headers(), ImageHeaders.SPLIT, "train");
                    ImageHeaders.put(r.headers(), ImageHeaders.LABEL, "c" + Math.floorMod(id.hashCode(), 3));
                    written.put(id, p.send(r).get());
                    values.put(id, value);
                }
            }

            FeatureWorkerOptions opts = FeatureWorkerOptions.defaults(topics, "corpus-group", "corpus-0").withBatchSize(8);
            FeatureWorker worker = FeatureWorker.create(opts, settings, base);
            Thread t = new Thread(worker, "corpus-worker");
            t.start();
            try {
                int featurizable = GOOD + edge.size();
                await().atMost(Duration.ofMinutes(3)).until(
                        () -> worker.featurizedCount() + worker.deadLetterCount() >= order.size());
                assertThat(worker.deadLetterCount()).isEqualTo(bad.size());
                assertThat(worker.featurizedCount()).isEqualTo(featurizable);

                // Features: every good and edge id exactly once, read_committed.
                List<String> featureIds = new ArrayList<>();
                try (FeatureBatchCodec codec = new FeatureBatchCodec()) {
                    for (ConsumerRecord<byte[], byte[]> r : KafkaReads.readCommitted(settings, topics.features(), Duration.ofSeconds(30))) {
                        for (FeatureRow row : codec.decode(r.value())) {
                            featureIds.add(row.imageId());
                            assertThat(row.vector()).hasSize(base.ref().featureDim());
                            assertThat(row.baseId()).isEqualTo(base.ref().id());
                        }
                    }
                }
                List<String> expectedFeatures = order.stream().filter(id -> !bad.containsKey(id)).toList();
                assertThat(featureIds).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(expectedFeatures);

                // Dead letters: every bad id exactly once, original key and value, headers naming where and why.
                List<ConsumerRecord<byte[], byte[]>> dlq = KafkaReads.readCommitted(settings, topics.deadLetters(), Duration.ofSeconds(30));
                Map<String, Long> counts = dlq.stream().collect(Collectors.groupingBy(r -> str(r.key()), Collectors.counting()));
                assertThat(counts).containsOnlyKeys(bad.keySet()).allSatisfy((id, n) -> assertThat(n).as(id).isEqualTo(1L));
                Map<String, ConsumerRecord<byte[], byte[]>> byId = dlq.stream()
                        .collect(Collectors.toMap(r -> str(r.key()), Function.identity()));
                for (Map.Entry<String, Bad> e : bad.entrySet()) {
                    String id = e.getKey();
                    ConsumerRecord<byte[], byte[]> r = byId.get(id);
                    RecordMetadata md = written.get(id);
                    assertThat(Arrays.equals(r.value(), values.get(id))).as("%s value intact", id).isTrue();
                    assertThat(header(r, DeadLetterHeaders.ORIGINAL_TOPIC)).isEqualTo(topics.images());
                    assertThat(header(r, DeadLetterHeaders.ORIGINAL_PARTITION)).isEqualTo(String.valueOf(md.partition()));
                    assertThat(header(r, DeadLetterHeaders.ORIGINAL_OFFSET)).isEqualTo(String.valueOf(md.offset()));
                    assertThat(header(r, DeadLetterHeaders.STAGE)).as("%s stage", id).isEqualTo(e.getValue().stage());
                    assertThat(header(r, DeadLetterHeaders.EXCEPTION_CLASS)).as("%s class", id).isEqualTo(e.getValue().exceptionClass());
                    assertThat(header(r, DeadLetterHeaders.EXCEPTION_MESSAGE)).as("%s message", id).isNotBlank();
                    if (e.getValue().reasonPrefix() != null) {
                        assertThat(header(r, DeadLetterHeaders.EXCEPTION_MESSAGE)).startsWith(e.getValue().reasonPrefix() + ":");
                    }
                    assertThat(header(r, DeadLetterHeaders.WORKER)).isEqualTo("corpus-0");
                    assertThat(header(r, ImageHeaders.SPLIT)).as("original headers kept").isEqualTo("train");
                }

                // The worker is still running: a later good image is featurized too.
                assertThat(t.isAlive()).isTrue();
                try (Producer<byte[], byte[]> p = settings.producer()) {
                    ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topics.images(), "good-after".getBytes(), Corpus.fashionLikePng(1234));
                    ImageHeaders.put(r.headers(), ImageHeaders.TASK, TASK);
                    p.send(r).get();
                }
                await().atMost(Duration.ofSeconds(60)).until(() -> worker.featurizedCount() == featurizable + 1);
            } finally {
                long t0 = System.nanoTime();
                worker.close();
                t.join(TimeUnit.SECONDS.toMillis(35));
                System.out.printf("[GRAFT-MEASURE] corpus worker close() took %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            }
            assertThat(t.isAlive()).as("close() stopped the worker").isFalse();
        }
    }
}
