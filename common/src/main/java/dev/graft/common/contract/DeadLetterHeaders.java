package dev.graft.common.contract;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Headers a dead-lettered record carries in addition to its original headers. Key and value are
 * the original record's, unchanged, so nothing is lost and the record can be replayed.
 */
public final class DeadLetterHeaders {
    public static final String ORIGINAL_TOPIC = "graft.dlq.original-topic";
    public static final String ORIGINAL_PARTITION = "graft.dlq.original-partition";
    public static final String ORIGINAL_OFFSET = "graft.dlq.original-offset";
    /** Which stage rejected it: contract, guard, decode, preprocess, extract (feature worker), predict (predict worker). */
    public static final String STAGE = "graft.dlq.stage";
    public static final String EXCEPTION_CLASS = "graft.dlq.exception-class";
    public static final String EXCEPTION_MESSAGE = "graft.dlq.exception-message";
    public static final String WORKER = "graft.dlq.worker";

    private DeadLetterHeaders() {}

    /** The dead letter of {@code r} for {@code topic}: original key, value and headers plus the headers above. */
    public static ProducerRecord<byte[], byte[]> deadLetter(ConsumerRecord<byte[], byte[]> r, String topic, String stage,
                                                            Throwable error, String worker) {
        ProducerRecord<byte[], byte[]> out = new ProducerRecord<>(topic, null, r.key(), r.value(), r.headers());
        put(out, ORIGINAL_TOPIC, r.topic());
        put(out, ORIGINAL_PARTITION, String.valueOf(r.partition()));
        put(out, ORIGINAL_OFFSET, String.valueOf(r.offset()));
        put(out, STAGE, stage);
        put(out, EXCEPTION_CLASS, error.getClass().getName());
        put(out, EXCEPTION_MESSAGE, String.valueOf(error.getMessage()));
        put(out, WORKER, worker);
        return out;
    }

    private static void put(ProducerRecord<byte[], byte[]> rec, String name, String value) {
        rec.headers().remove(name);
        rec.headers().add(name, value.getBytes(StandardCharsets.UTF_8));
    }
}
