package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.base.BaseArtifact;
import dev.graft.common.base.Preprocessing;
import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Split;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.model.ModelRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.Producer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.nd4j.linalg.activations.Activation;

/**
 * Issue 3, the head trainer's part, on a real broker: a fine-tune worker's {@code base-published} event (here
 * written by the test, with a real {@code graft-base-zip-v1} artifact of a tiny conv base and a fine-tuned head)
 * becomes the task's next head version (base = the new base, {@code fineTuned = true}, the event's metrics,
 * parent = the previous version), through the promotion gate; a restarted trainer does not adopt it again; and
 * once the new base's features arrive (re-featurization), it is a candidate next to the old base.
 */
class FineTunedBaseAdoptionIT {
    static final String TASK = "adopt";
    static final int K = 3;

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void fineTunedHeadBecomesNextVersionOnceAndItsBaseACandidate() throws Exception {
        Topics topics = Topics.defaults();
        HeadTrainerOptions options = HeadTrainerOptions.defaults(topics, TASK)
                .withHead(HeadConfig.defaults().withHiddenUnits(16).withEpochs(10))
                .withPolicy(new TrainingPolicy.Settings(90, Duration.ofHours(1), 2, 10));
        Random r = new Random(5);
        try (KafkaTestCluster kafka = KafkaTestCluster.start()) {
            KafkaSettings settings = RunningTrainer.topics(kafka, topics, 1);
            ModelRegistry registry = new ModelRegistry(topics, () -> settings.consumer(null));
            BaseArtifact fineTuned = fineTunedBase(r);
            BaseRef newBase = fineTuned.ref();
            try (FeatureFeed old = new FeatureFeed(settings, topics, TASK, FeatureFeed.syntheticBase(32));
                 FeatureFeed refeaturized = new FeatureFeed(settings, topics, TASK, newBase)) {
                RunningTrainer a = RunningTrainer.start(options, settings, null);
                old.publish(old.blobs(r, 0, K, K, 10, Split.VALIDATION, "val"));
                old.publish(old.blobs(r, 0, K, K, 30, Split.TRAIN, "p1"));
                ModelUpdateEvent v1 = a.next();
                assertThat(v1.version()).isEqualTo(1);

                // the fine-tune worker publishes base b1 with a better validation accuracy than v1's
                ModelUpdateEvent.Metrics metrics = new ModelUpdateEvent.Metrics(0.99, 0.05, 30, 90,
                        Map.of("c0", 1.0, "c1", 1.0, "c2", 0.97), new int[][] {{10, 0, 0}, {0, 10, 0}, {0, 1, 9}});
                ModelUpdateEvent draft = new ModelUpdateEvent(ModelUpdateEvent.BASE_PUBLISHED, TASK, 1, Instant.now(),
                        newBase, List.of("c0", "c1", "c2"), metrics,
                        new ModelUpdateEvent.Lineage(Map.of(), Map.of("requestId", "r-1", "freezePoint", "conv"),
                                "dense16-relu>dropout0.5>softmax", 1), null);
                try (Producer<byte[], byte[]> p = settings.producer()) {
                    registry.publish(p, draft, fineTuned.toBytes(), BaseArtifact.FORMAT);
                }
                ModelUpdateEvent v2 = a.next();
                assertThat(v2.version()).isEqualTo(2);
                assertThat(v2.base()).isEqualTo(newBase);
                assertThat(v2.lineage().hyperParameters()).containsEntry(HeadTrainerService.FINE_TUNED, true)
                        .containsEntry("baseVersion", 1).containsEntry("requestId", "r-1");
                assertThat(v2.lineage().parentVersion()).isEqualTo(1);
                assertThat(v2.metrics().validationAccuracy()).isEqualTo(0.99);
                assertThat(registry.fetch(v2.artifact())).as("the fine-tuned head, unchanged").isEqualTo(fineTuned.headZip());
                // the adoption's transaction is committed, but its markers may land just after commitTransaction()
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
                        .until(() -> registry.aliases(TASK).get(ModelUpdateEvent.LATEST).orElse(0) == 2);
                assertThat(registry.aliases(TASK).serving()).as("better than v1: promoted").hasValue(2);
                assertThat(a.published().poll(3, TimeUnit.SECONDS)).isNull();
                a.close();

                // a restart adopts nothing again
                RunningTrainer b = RunningTrainer.start(options, settings, null);
                assertThat(b.published().poll(10, TimeUnit.SECONDS)).as("b1 adopted once").isNull();

                // re-featurization: the new base's features of the same images, then new labels for both bases
                refeaturized.publish(relabel(old.blobs(r, 0, K, K, 10, Split.VALIDATION, "val"), newBase));
                refeaturized.publish(relabel(old.blobs(r, 0, K, K, 30, Split.TRAIN, "p1"), newBase));
                old.publish(old.blobs(r, 0, K, K, 30, Split.TRAIN, "p2"));
                refeaturized.publish(relabel(old.blobs(r, 0, K, K, 30, Split.TRAIN, "p2"), newBase));
                // a round as soon as the new base covers the old one's images (it was in no round yet), then on p2
                // (a round may run on the old base alone if p2 of the new one is not written yet; the new base then
                // gets a round of its own when it catches up)
                ModelUpdateEvent v;
                do {
                    v = b.next();
                } while (v.metrics().trainCount() < 180 || v.lineage().candidates() == null);
                assertThat(v.lineage().candidates()).containsOnlyKeys("synthetic-32", newBase.id());
                assertThat(v.metrics().trainCount()).isEqualTo(180);
                b.close();
                assertThat(registry.versions(TASK)).filteredOn(HeadTrainerService::fineTuned).hasSize(1);
                assertThat(registry.versions(TASK)).extracting(ModelUpdateEvent::version).doesNotHaveDuplicates();
            }
        }
    }

    /** The same rows as features of {@code base} (its dim: the first columns of the synthetic vector). */
    private static List<dev.graft.common.contract.FeatureRow> relabel(List<dev.graft.common.contract.FeatureRow> rows,
                                                                      BaseRef base) {
        return rows.stream().map(row -> new dev.graft.common.contract.FeatureRow(row.imageId(), row.task(), row.label(),
                row.split(), base.id(), java.util.Arrays.copyOf(row.vector(), base.featureDim()), row.source())).toList();
    }

    /** A tiny conv base (8 px, 3x3 conv to 12 channels) and a head trained on 12-d blobs, as one base artifact. */
    private static BaseArtifact fineTunedBase(Random r) {
        ComputationGraph g = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(1).graphBuilder()
                .addInputs("input").setInputTypes(InputType.convolutional(8, 8, 3, CNN2DFormat.NHWC))
                .addLayer("conv", new ConvolutionLayer.Builder(3, 3).nOut(12).activation(Activation.RELU)
                        .dataFormat(CNN2DFormat.NHWC).build(), "input")
                .setOutputs("conv").build());
        g.init();
        VectorStore store = new VectorStore(TASK, "tiny", 12);
        Blobs.fill(store, r, 0, K, K, 30, Split.TRAIN, "ft");
        TrainedHead head = new HeadTrainer().train(HeadConfig.defaults().withHiddenUnits(16).withEpochs(10), store,
                Optional.empty());
        return BaseArtifact.of(TASK, 1, g, "conv", 8, Preprocessing.UNIT, "conv", head.toBytes());
    }
}
