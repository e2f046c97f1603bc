package dev.graft.common.kafka;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;

/** Helpers of a transactional read-process-write loop (one poll thread owning a consumer and a producer). */
public final class Transactions {
    private Transactions() {}

    /**
     * Fencing, authorization, sequence and version errors cannot be cured by retrying with this producer. The
     * producer rethrows fencing as such, but wraps other fatal errors ("in an error state"), so the causes count.
     */
    public static boolean isFatal(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException
                    || t instanceof OutOfOrderSequenceException || t instanceof AuthorizationException
                    || t instanceof UnsupportedVersionException || t instanceof FencedInstanceIdException) {
                return true;
            }
        }
        return false;
    }

    /** The offsets to commit after processing {@code records}: per partition, the last offset + 1. */
    public static Map<TopicPartition, OffsetAndMetadata> nextOffsets(Collection<ConsumerRecord<byte[], byte[]>> records) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            TopicPartition tp = new TopicPartition(r.topic(), r.partition());
            OffsetAndMetadata next = new OffsetAndMetadata(r.offset() + 1);
            offsets.merge(tp, next, (a, b) -> a.offset() >= b.offset() ? a : b);
        }
        return offsets;
    }

    /** Seeks every assigned partition back to its committed offset (the beginning if none), after an abort. */
    public static void rewindToCommitted(Consumer<byte[], byte[]> c) {
        Map<TopicPartition, OffsetAndMetadata> committed = c.committed(c.assignment());
        for (TopicPartition tp : c.assignment()) {
            OffsetAndMetadata om = committed.get(tp);
            if (om != null) {
                c.seek(tp, om.offset());
            } else {
                c.seekToBeginning(List.of(tp));
            }
        }
    }

    /**
     * Aborts after a retriable error. No open transaction is fine; if the abort itself fails the producer is
     * unusable: {@link UnusableProducerException} (the caller stops; a restart with the same transactional id recovers).
     */
    public static void abort(Producer<byte[], byte[]> p, KafkaException cause) {
        try {
            p.abortTransaction();
        } catch (IllegalStateException notInTransaction) {
            // nothing was open
        } catch (KafkaException e) {
            e.addSuppressed(cause);
            throw new UnusableProducerException("transaction abort failed after " + cause, e);
        }
    }

    /** The producer cannot be used any more; restart the role (same transactional id). */
    public static final class UnusableProducerException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public UnusableProducerException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
