package dev.graft.common.contract;

/** Bytes on the features topic that are not a feature batch as described in docs/contracts.md. */
public class MalformedFeatureBatchException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public MalformedFeatureBatchException(String message, Throwable cause) {
        super(message, cause);
    }
}
