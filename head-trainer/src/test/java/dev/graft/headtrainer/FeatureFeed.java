package dev.graft.headtrainer;

import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.FeatureBatchCodec;
import dev.graft.common.contract.FeatureHeaders;
import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.Split;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Publishes feature batches straight to the features topic, as a feature worker would (Arrow batch,
 * key = task, {@link FeatureHeaders#BASE_REF} header), without running an image network.
 */
final class FeatureFeed implements AutoCloseable {
    static final int BATCH = 64;

    private final Topics topics;
    private final String task;
    private final BaseRef base;
    private final Producer<byte[], byte[]> producer;
    private final FeatureBatchCodec codec = new FeatureBatchCodec();
    private int published;

    FeatureFeed(KafkaSettings kafka, Topics topics, String task, BaseRef base) {
        this.topics = topics;
        this.task = task;
        this.base = base;
        this.producer = kafka.producer();
    }

    static BaseRef syntheticBase(int dim) {
        return new BaseRef("synthetic-" + dim, "synthetic", "none", 0, dim, "none");
    }

    /** Rows in batches of {@link #BATCH}; returns once all are acknowledged. */
    void publish(List<FeatureRow> rows) {
        for (int i = 0; i < rows.size(); i += BATCH) {
            producer.send(record(rows.subList(i, Math.min(rows.size(), i + BATCH))));
        }
        producer.flush();
        published += rows.size();
    }

    /** One feature record of this feed's task and base (for a caller that sends it itself, e.g. in a transaction). */
    ProducerRecord<byte[], byte[]> record(List<FeatureRow> batch) {
        ProducerRecord<byte[], byte[]> rec = new ProducerRecord<>(topics.features(),
                task.getBytes(StandardCharsets.UTF_8), codec.encode(batch));
        FeatureHeaders.putBaseRef(rec.headers(), base);
        return rec;
    }

    /** Rows published so far. */
    int published() {
        return published;
    }

    /** perClass Blobs rows of each class in [from, to) of k, labels "c0".."c{k-1}". */
    List<FeatureRow> blobs(Random r, int from, int to, int k, int perClass, Split split, String prefix) {
        List<FeatureRow> rows = new ArrayList<>();
        for (int i = 0; i < perClass; i++) {
            for (int c = from; c < to; c++) {
                rows.add(new FeatureRow(prefix + "-" + c + "-" + i, task, "c" + c, split, base.id(),
                        Blobs.vector(r, c, k, base.featureDim(), 3.0, base.featureDim() / 10), "test"));
            }
        }
        return rows;
    }

    @Override
    public void close() {
        producer.close();
        codec.close();
    }
}
