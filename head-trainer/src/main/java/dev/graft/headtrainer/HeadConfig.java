package dev.graft.headtrainer;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Hyper-parameters of a classifier head. Immutable and validated on construction; start from
 * {@link #defaults()} and change fields with the {@code with...} methods.
 *
 * @param hiddenUnits units of the ReLU hidden layer; 0 = plain softmax (multinomial logistic) regression
 * @param dropout probability of <em>dropping</em> an input of the output layer during training, in [0,1)
 *                (DL4J's own {@code dropOut(p)} takes the retain probability; the trainer converts)
 * @param learningRate Adam step size
 * @param epochs passes over the train split
 * @param batchSize minibatch size
 * @param l2 L2 weight penalty (weights only, not biases)
 * @param seed seeds weight initialisation, dropout and the minibatch shuffle: same seed + same data = same head
 * @param standardize subtract the train mean and divide by the train std per column before the head
 *                    (a zero-variance column is divided by 1)
 */
public record HeadConfig(int hiddenUnits, double dropout, double learningRate, int epochs, int batchSize,
                         double l2, long seed, boolean standardize) {

    public static final int DEFAULT_HIDDEN_UNITS = 256;
    public static final double DEFAULT_DROPOUT = 0.5;
    public static final double DEFAULT_LEARNING_RATE = 1e-3;
    public static final int DEFAULT_EPOCHS = 20;
    public static final int DEFAULT_BATCH_SIZE = 64;
    public static final double DEFAULT_L2 = 1e-4;
    public static final long DEFAULT_SEED = 42L;
    /**
     * Off by default: on bottleneck features (ReLU outputs, many near-zero columns) standardising
     * hurt more often than it helped in the measurements of docs/dl4j-facts (logistic regression),
     * and the head-trainer's own Fashion-MNIST measurement did not show a gain either (see tests).
     */
    public static final boolean DEFAULT_STANDARDIZE = false;

    public HeadConfig {
        require(hiddenUnits >= 0 && hiddenUnits <= 65_536, "hiddenUnits must be in [0, 65536]: " + hiddenUnits);
        require(dropout >= 0 && dropout < 1, "dropout must be in [0, 1): " + dropout);
        require(Double.isFinite(learningRate) && learningRate > 0 && learningRate <= 1,
                "learningRate must be in (0, 1]: " + learningRate);
        require(epochs >= 1 && epochs <= 10_000, "epochs must be in [1, 10000]: " + epochs);
        require(batchSize >= 1 && batchSize <= 1 << 20, "batchSize must be in [1, 1048576]: " + batchSize);
        require(Double.isFinite(l2) && l2 >= 0, "l2 must be finite and >= 0: " + l2);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    public static HeadConfig defaults() {
        return new HeadConfig(DEFAULT_HIDDEN_UNITS, DEFAULT_DROPOUT, DEFAULT_LEARNING_RATE, DEFAULT_EPOCHS,
                DEFAULT_BATCH_SIZE, DEFAULT_L2, DEFAULT_SEED, DEFAULT_STANDARDIZE);
    }

    public HeadConfig withHiddenUnits(int v) {
        return new HeadConfig(v, dropout, learningRate, epochs, batchSize, l2, seed, standardize);
    }

    public HeadConfig withDropout(double v) {
        return new HeadConfig(hiddenUnits, v, learningRate, epochs, batchSize, l2, seed, standardize);
    }

    public HeadConfig withLearningRate(double v) {
        return new HeadConfig(hiddenUnits, dropout, v, epochs, batchSize, l2, seed, standardize);
    }

    public HeadConfig withEpochs(int v) {
        return new HeadConfig(hiddenUnits, dropout, learningRate, v, batchSize, l2, seed, standardize);
    }

    public HeadConfig withBatchSize(int v) {
        return new HeadConfig(hiddenUnits, dropout, learningRate, epochs, v, l2, seed, standardize);
    }

    public HeadConfig withL2(double v) {
        return new HeadConfig(hiddenUnits, dropout, learningRate, epochs, batchSize, v, seed, standardize);
    }

    public HeadConfig withSeed(long v) {
        return new HeadConfig(hiddenUnits, dropout, learningRate, epochs, batchSize, l2, v, standardize);
    }

    public HeadConfig withStandardize(boolean v) {
        return new HeadConfig(hiddenUnits, dropout, learningRate, epochs, batchSize, l2, seed, v);
    }

    /** Whether a head trained with {@code other} has the same shape (so its weights can warm-start this one). */
    public boolean sameArchitecture(HeadConfig other) {
        return hiddenUnits == other.hiddenUnits && standardize == other.standardize;
    }

    /** E.g. {@code dense256-relu>dropout0.5>softmax}, for {@code Lineage.headArchitecture}. */
    public String architecture() {
        String drop = dropout > 0 ? "dropout" + dropout + ">" : "";
        String std = standardize ? "standardize>" : "";
        return hiddenUnits == 0 ? std + drop + "softmax" : std + "dense" + hiddenUnits + "-relu>" + drop + "softmax";
    }

    /** For {@code Lineage.hyperParameters}. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("hiddenUnits", hiddenUnits);
        m.put("dropout", dropout);
        m.put("learningRate", learningRate);
        m.put("optimizer", "adam");
        m.put("epochs", epochs);
        m.put("batchSize", batchSize);
        m.put("l2", l2);
        m.put("seed", seed);
        m.put("standardize", standardize);
        return m;
    }
}
