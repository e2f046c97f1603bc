package dev.graft.headtrainer;

import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.RetrainRequest;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * The head trainer's optional policy for asking for fine-tuning by itself: when the task's heads on cached features
 * have stopped improving, publish a {@link RetrainRequest}. Off by default ({@link Settings#OFF}).
 *
 * <p>Rule: after a version is published, look at the task's last {@code plateauVersions} versions (this one
 * included). If none of them beats the best validation accuracy of every earlier version by more than
 * {@code minImprovement}, the heads have plateaued and a request is made. After a request (or a restart), at least
 * {@code plateauVersions} new versions must be published before the next one, so one plateau makes one request.
 * Not thread-safe: the trainer's poll thread owns it.
 */
public final class RetrainTrigger {

    /**
     * @param plateauVersions versions without improvement that make a plateau; 0 = never request
     * @param minImprovement validation accuracy a version must gain over the best earlier one to count as improvement
     * @param template what to ask for: unfreezeFrom, epochs, learningRate, batchSize, augmentation (ids, task,
     *                 reason and time are filled in per request)
     */
    public record Settings(int plateauVersions, double minImprovement, RetrainRequest template) {
        public static final Settings OFF = new Settings(0, 0.0, null);

        public Settings {
            if (plateauVersions < 0) {
                throw new IllegalArgumentException("plateauVersions must be >= 0 (0 = off): " + plateauVersions);
            }
            if (!(minImprovement >= 0 && minImprovement < 1)) {
                throw new IllegalArgumentException("minImprovement must be in [0, 1): " + minImprovement);
            }
            if (plateauVersions > 0 && template == null) {
                throw new IllegalArgumentException("a request template is needed when the policy is on");
            }
        }

        /** On after {@code k} versions without improvement, asking to fine-tune the last 2 blocks for 2 epochs. */
        public static Settings after(int k) {
            return new Settings(k, 0.0, new RetrainRequest(null, null, "last 2 blocks", 2, 1e-4, 32, "flip", null, null));
        }

        public boolean on() {
            return plateauVersions > 0;
        }
    }

    private final Settings settings;
    /** Versions published (seen by {@link #committed}) since the last request or since this trainer started. */
    private int sinceLastRequest;

    public RetrainTrigger(Settings settings) {
        this.settings = settings;
    }

    /**
     * The request to publish with {@code candidate}, given the task's versions published before it (log order), or
     * empty. Call {@link #committed} once the candidate's transaction has committed.
     */
    public Optional<RetrainRequest> requestFor(String task, List<ModelUpdateEvent> earlier, ModelUpdateEvent candidate,
                                               Instant now) {
        int k = settings.plateauVersions();
        if (k == 0 || sinceLastRequest + 1 < k || earlier.size() + 1 <= k) {
            return Optional.empty();
        }
        int firstRecent = earlier.size() + 1 - k;   // index of the oldest of the last k versions in earlier + candidate
        double bestBefore = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < firstRecent; i++) {
            bestBefore = Math.max(bestBefore, accuracy(earlier.get(i)));
        }
        double bestRecent = accuracy(candidate);
        for (int i = firstRecent; i < earlier.size(); i++) {
            bestRecent = Math.max(bestRecent, accuracy(earlier.get(i)));
        }
        if (bestRecent > bestBefore + settings.minImprovement()) {
            return Optional.empty();
        }
        RetrainRequest t = settings.template();
        String reason = String.format(java.util.Locale.ROOT,
                "head trainer: validation accuracy has not improved over the last %d versions (best %.4f, best before %.4f)",
                k, bestRecent, bestBefore);
        return Optional.of(new RetrainRequest(UUID.randomUUID().toString(), task, t.unfreezeFrom(), t.epochs(),
                t.learningRate(), t.batchSize(), t.augmentation(), reason, now));
    }

    /** A version committed; {@code requested}: whether a request went out with it. */
    public void committed(boolean requested) {
        sinceLastRequest = requested ? 0 : sinceLastRequest + 1;
    }

    private static double accuracy(ModelUpdateEvent e) {
        return e.metrics() == null ? Double.NEGATIVE_INFINITY : e.metrics().validationAccuracy();
    }
}
