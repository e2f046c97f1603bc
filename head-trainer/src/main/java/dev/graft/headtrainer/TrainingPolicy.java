package dev.graft.headtrainer;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * Decides when to train a new head version. Pure apart from the injected clock; not thread-safe
 * (one per task, called from the trainer's loop).
 *
 * <p>Train when the data allows it (at least {@code minLabels} labels and {@code minTrainCount}
 * train vectors) and either {@code minNewVectors} train vectors arrived since the last training,
 * or some arrived and the oldest of them has waited {@code maxWait}. The wait is measured from the
 * first check that saw untrained vectors, so a long idle period does not make the first new vector
 * trigger a training on its own.
 *
 * <p>{@code trainVectorsSeen} is a monotone counter of accepted train vectors (e.g.
 * {@link VectorStore#trainChanges()}), not the current size, so relabelled rows count as new.
 */
public final class TrainingPolicy {

    public record Settings(int minNewVectors, Duration maxWait, int minLabels, int minTrainCount) {
        public Settings {
            Objects.requireNonNull(maxWait, "maxWait");
            if (minNewVectors < 1) {
                throw new IllegalArgumentException("minNewVectors must be >= 1: " + minNewVectors);
            }
            if (maxWait.isNegative()) {
                throw new IllegalArgumentException("maxWait must be >= 0: " + maxWait);
            }
            if (minLabels < 2) {
                throw new IllegalArgumentException("minLabels must be >= 2 (softmax over one class): " + minLabels);
            }
            if (minTrainCount < 1) {
                throw new IllegalArgumentException("minTrainCount must be >= 1: " + minTrainCount);
            }
        }

        public static Settings defaults() {
            return new Settings(200, Duration.ofSeconds(60), 2, 20);
        }
    }

    /** @param reason why (not), for logs */
    public record Decision(boolean train, String reason) {}

    private final Settings settings;
    private final Clock clock;
    private long seenAtLastTraining;
    private Instant pendingSince;
    private Instant lastTrainedAt;

    public TrainingPolicy(Settings settings, Clock clock) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public Settings settings() {
        return settings;
    }

    /**
     * @param trainVectorsSeen monotone count of accepted train vectors so far
     * @param labelCount labels known now
     * @param trainCount train vectors in the store now
     */
    public Decision check(long trainVectorsSeen, int labelCount, int trainCount) {
        Instant now = clock.instant();
        long fresh = trainVectorsSeen - seenAtLastTraining;
        if (fresh <= 0) {
            return new Decision(false, "no new train vectors");
        }
        if (pendingSince == null) {
            pendingSince = now;
        }
        if (labelCount < settings.minLabels()) {
            return new Decision(false, labelCount + " labels < " + settings.minLabels());
        }
        if (trainCount < settings.minTrainCount()) {
            return new Decision(false, trainCount + " train vectors < " + settings.minTrainCount());
        }
        if (fresh >= settings.minNewVectors()) {
            return new Decision(true, fresh + " new train vectors >= " + settings.minNewVectors());
        }
        Duration waited = Duration.between(pendingSince, now);
        if (waited.compareTo(settings.maxWait()) >= 0) {
            return new Decision(true, fresh + " new train vectors waited " + waited + " >= " + settings.maxWait());
        }
        return new Decision(false, fresh + " new train vectors, waited " + waited + " of " + settings.maxWait());
    }

    /** Records that a head was trained on everything up to {@code trainVectorsSeen}. */
    public void trained(long trainVectorsSeen) {
        seenAtLastTraining = Math.max(seenAtLastTraining, trainVectorsSeen);
        pendingSince = null;
        lastTrainedAt = clock.instant();
    }

    /** Null before the first training. */
    public Instant lastTrainedAt() {
        return lastTrainedAt;
    }
}
