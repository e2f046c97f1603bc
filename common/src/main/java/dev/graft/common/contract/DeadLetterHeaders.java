package dev.graft.common.contract;

/**
 * Headers a dead-lettered record carries in addition to its original headers. Key and value are
 * the original record's, unchanged, so nothing is lost and the record can be replayed.
 */
public final class DeadLetterHeaders {
    public static final String ORIGINAL_TOPIC = "graft.dlq.original-topic";
    public static final String ORIGINAL_PARTITION = "graft.dlq.original-partition";
    public static final String ORIGINAL_OFFSET = "graft.dlq.original-offset";
    /** Which stage rejected it: guard, decode, preprocess, extract. */
    public static final String STAGE = "graft.dlq.stage";
    public static final String EXCEPTION_CLASS = "graft.dlq.exception-class";
    public static final String EXCEPTION_MESSAGE = "graft.dlq.exception-message";
    public static final String WORKER = "graft.dlq.worker";

    private DeadLetterHeaders() {}
}
