package dev.graft.producer;

/** A publish run that did not publish everything; the summary says what did get through. */
public class PublishException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient PublishSummary summary;

    public PublishException(String message, PublishSummary summary, Throwable cause) {
        super(message, cause);
        this.summary = summary;
    }

    public PublishSummary summary() {
        return summary;
    }
}
