package dev.graft.producer;

import dev.graft.common.contract.Split;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What one {@link ImagePublisher#publish} run did. Counts are of <em>acknowledged</em> records.
 *
 * @param submitted records handed to the producer
 * @param sent records the broker acknowledged
 * @param bytes image bytes (record values) acknowledged
 * @param perSplit acknowledged records per split (all splits present, possibly 0)
 * @param perLabel acknowledged labelled records per label, sorted by label
 * @param unlabelled acknowledged records without a label
 * @param failed records that failed (send callback error or synchronous send error)
 * @param failures the first {@link ImagePublisher#MAX_FAILURES_KEPT} failures with their cause
 */
public record PublishSummary(String task, String topic, long submitted, long sent, long bytes,
                             Map<Split, Long> perSplit, Map<String, Long> perLabel, long unlabelled,
                             long failed, List<Failure> failures, Duration elapsed) {

    /** One image that was not published. */
    public record Failure(String imageId, String error) {}

    public boolean ok() {
        return failed == 0 && sent == submitted;
    }

    @Override
    public String toString() {
        return "published " + sent + "/" + submitted + " images (" + bytes + " bytes) for task " + task + " to "
                + topic + " in " + elapsed.toMillis() + " ms; splits " + perSplit + "; labels " + perLabel
                + (unlabelled > 0 ? "; unlabelled " + unlabelled : "") + (failed > 0 ? "; FAILED " + failed : "");
    }
}
