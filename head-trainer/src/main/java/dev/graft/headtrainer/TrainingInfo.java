package dev.graft.headtrainer;

/**
 * How a head was trained (informational; not needed to predict).
 *
 * @param trainCount train vectors used
 * @param epochs epochs run
 * @param trainMillis wall time of the fit loop; -1 for a head read back from bytes (not stored)
 * @param warmStarted whether the weights started from a previous head
 * @param parentLabelCount labels of the warm-start head (0 if none)
 * @param lastEpochLoss mean minibatch score (loss incl. L2) of the last epoch
 */
public record TrainingInfo(int trainCount, int epochs, long trainMillis, boolean warmStarted, int parentLabelCount,
                           double lastEpochLoss) {

    public double millisPerEpoch() {
        return epochs == 0 || trainMillis < 0 ? Double.NaN : (double) trainMillis / epochs;
    }

    TrainingInfo withoutTime() {
        return new TrainingInfo(trainCount, epochs, -1, warmStarted, parentLabelCount, lastEpochLoss);
    }
}
