package dev.graft.app;

import java.util.List;

/**
 * A distribution-free confidence interval for the median of what a few repeated measurements sample: the sign
 * test's. For n values sorted, [x(k), x(n+1-k)] contains the true median with probability
 * {@code 1 - 2 P(Bin(n, 1/2) <= k-1)}, whatever the distribution; {@link #of} takes the narrowest such interval
 * whose coverage is at least the level asked, or the full range where n is too small for that (3 rounds: 75%).
 * The bench's rounds are not normal (a slow phase of the machine makes a long tail), so no mean and standard
 * deviation.
 *
 * @param coverage the interval's exact coverage under independent rounds (0 for one value)
 */
record MedianInterval(double low, double high, double coverage) {

    /** The level the bench asks for. */
    static final double LEVEL = 0.90;

    static MedianInterval of(List<Double> values, double level) {
        if (values.isEmpty()) throw new IllegalArgumentException("no values");
        if (!(level > 0 && level < 1)) throw new IllegalArgumentException("level must be in (0, 1), got " + level);
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = v.length;
        int k = 1;
        for (int j = 2; j <= (n + 1) / 2 && coverage(n, j) >= level; j++) k = j;
        return new MedianInterval(v[k - 1], v[n - k], coverage(n, k));
    }

    /** Coverage of [x(k), x(n+1-k)] (1-based order statistics) for the median. */
    static double coverage(int n, int k) {
        if (k < 1 || 2 * k > n + 1) throw new IllegalArgumentException("k must be in 1.." + (n + 1) / 2 + ", got " + k);
        double below = 0; // P(Bin(n, 1/2) <= k-1)
        double choose = 1; // C(n, i)
        for (int i = 0; i <= k - 1; i++) {
            below += choose;
            choose = choose * (n - i) / (i + 1);
        }
        return Math.max(0, 1 - 2 * below / Math.pow(2, n));
    }
}
