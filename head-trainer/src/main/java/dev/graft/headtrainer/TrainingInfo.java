package dev.graft.headtrainer;

/**
 * How a head was trained (informational; not needed to predict).
 *
 * @param trainCount train vectors used
 * @param epochs epochs run
 * @param trainMillis wall time of the fit loop
 * @param warmStarted whether the weights started from a previous head
 * @param parentLabelCount labels of the warm-start head (0 if none)
 * @param lastEpochLoss mean minibatch score (loss incl. L2) of the last epoch
 */
public record TrainingInfo(int trainCount, int epochs, long trainMillis, boolean warmStarted, int parentLabelCount,
                           double lastEpochLoss) {

    public double millisPerEpoch() {
        return epochs == 0 ? 0 : (double) trainMillis / epochs;
    }
}
