package dev.graft.app.probe;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.Random;

/**
 * A linear probe: multinomial logistic regression on standardised features, trained full-batch with L-BFGS on
 * the mean cross-entropy plus {@code l2/2 * ||W||²} (bias not penalised). The L2 strength is chosen from a grid
 * by accuracy on a seeded hold-out of the training rows, then the model is refitted on all training rows and
 * scored on the validation rows. Deterministic for given inputs and options. Pure Java computation.
 */
public final class LinearProbe {

    /**
     * @param l2Grid L2 strengths to choose from (each &gt; 0); one value = no selection
     * @param maxIterations L-BFGS iterations per fit
     * @param holdoutFraction share of training rows held out to choose the L2 strength, in (0, 0.5]
     * @param seed seed of the hold-out split
     */
    public record Options(double[] l2Grid, int maxIterations, double holdoutFraction, long seed) {
        public Options {
            if (l2Grid == null || l2Grid.length == 0) throw new IllegalArgumentException("l2Grid must not be empty");
            l2Grid = l2Grid.clone();
            for (double l : l2Grid) {
                if (!(l > 0) || Double.isInfinite(l)) throw new IllegalArgumentException("L2 strengths must be > 0, got " + l);
            }
            if (maxIterations < 1) throw new IllegalArgumentException("maxIterations must be >= 1, got " + maxIterations);
            if (!(holdoutFraction > 0 && holdoutFraction <= 0.5)) {
                throw new IllegalArgumentException("holdoutFraction must be in (0, 0.5], got " + holdoutFraction);
            }
        }

        @Override
        public double[] l2Grid() {
            return l2Grid.clone();
        }

        public static Options defaults() {
            return new Options(new double[] {1e-1, 1e-2, 1e-3, 1e-4}, 300, 0.2, 42);
        }
    }

    /**
     * @param accuracy validation accuracy (a validation label never seen in training counts as wrong)
     * @param correct correctly classified validation rows
     * @param count validation rows
     * @param l2 chosen L2 strength
     * @param holdoutAccuracy accuracy of the chosen strength on the hold-out (NaN when nothing was selected)
     */
    public record Result(double accuracy, int correct, int count, double l2, double holdoutAccuracy) {}

    /** A fitted model on standardised inputs: {@code scores = W ((x - mean) / scale) + b}. */
    record Model(double[] mean, double[] scale, double[] params, int dim, int classes) {
        int[] predict(float[][] x) {
            double[][] xs = standardise(x, mean, scale);
            double[] z = new double[classes];
            int[] out = new int[x.length];
            for (int i = 0; i < xs.length; i++) {
                scores(params, xs[i], dim, classes, z);
                int best = 0;
                for (int c = 1; c < classes; c++) if (z[c] > z[best]) best = c;
                out[i] = best;
            }
            return out;
        }
    }

    private final Options options;

    public LinearProbe(Options options) {
        this.options = options;
    }

    /**
     * Trains on {@code trainX/trainY} and scores on {@code valX/valY}.
     *
     * @param classes number of classes; labels are in [0, classes) for training rows, any int for validation rows
     *                (a label outside that range can never be predicted, so it counts as an error)
     */
    public Result evaluate(float[][] trainX, int[] trainY, float[][] valX, int[] valY, int classes) {
        checkRows(trainX, trainY, "training");
        checkRows(valX, valY, "validation");
        if (trainX.length == 0) throw new IllegalArgumentException("no training rows");
        if (valX.length == 0) throw new IllegalArgumentException("no validation rows");
        if (classes < 2) throw new IllegalArgumentException("need at least 2 classes, got " + classes);
        for (int y : trainY) {
            if (y < 0 || y >= classes) throw new IllegalArgumentException("training label " + y + " outside [0," + classes + ")");
        }
        double[] grid = options.l2Grid();
        Arrays.sort(grid);
        double chosen = grid[grid.length / 2];
        double holdoutAcc = Double.NaN;
        double[] warm = null;
        int[] order = shuffled(trainX.length, options.seed());
        int nHold = (int) Math.round(trainX.length * options.holdoutFraction());
        if (grid.length > 1 && nHold >= classes && trainX.length - nHold >= classes) {
            float[][] fx = pick(trainX, order, nHold, trainX.length);
            int[] fy = pick(trainY, order, nHold, trainX.length);
            float[][] hx = pick(trainX, order, 0, nHold);
            int[] hy = pick(trainY, order, 0, nHold);
            holdoutAcc = -1;
            double[] params = null;
            // Strongest regularisation first: each fit warm-starts the next, weaker one.
            for (int i = grid.length - 1; i >= 0; i--) {
                Model m = fit(fx, fy, classes, grid[i], params);
                params = m.params();
                double acc = accuracy(m.predict(hx), hy);
                if (acc > holdoutAcc) {
                    holdoutAcc = acc;
                    chosen = grid[i];
                    warm = params;
                }
            }
        }
        Model model = fit(trainX, trainY, classes, chosen, warm);
        int[] pred = model.predict(valX);
        int correct = 0;
        for (int i = 0; i < pred.length; i++) if (pred[i] == valY[i]) correct++;
        return new Result((double) correct / valX.length, correct, valX.length, chosen, holdoutAcc);
    }

    /** Fits one model with L2 strength {@code l2}, starting from {@code init} (null = zeros). */
    Model fit(float[][] x, int[] y, int classes, double l2, double[] init) {
        int dim = x[0].length;
        double[] mean = new double[dim];
        double[] scale = new double[dim];
        standardisation(x, mean, scale);
        Objective f = new Objective(standardise(x, mean, scale), y, classes, l2);
        double[] theta = init != null ? init.clone() : new double[(dim + 1) * classes];
        lbfgs(f, theta, options.maxIterations());
        return new Model(mean, scale, theta, dim, classes);
    }

    /**
     * Mean cross-entropy + l2/2 ||W||² and its gradient. Parameters: W class-major ({@code classes} rows of
     * {@code dim}), then the {@code classes} biases. Plain Java loops: at the probe's sizes (a few thousand rows,
     * up to a few thousand columns, ten classes) they beat ND4J's per-op overhead on a loaded machine.
     */
    static final class Objective {
        final double[][] x;
        final int[] y;
        final int dim;
        final int classes;
        final double l2;

        Objective(double[][] x, int[] y, int classes, double l2) {
            this.x = x;
            this.y = y;
            this.dim = x[0].length;
            this.classes = classes;
            this.l2 = l2;
        }

        /** Returns the loss and writes the gradient into {@code grad}. */
        double valueAndGradient(double[] theta, double[] grad) {
            int n = x.length;
            int biases = dim * classes;
            Arrays.fill(grad, 0.0);
            double[] z = new double[classes];
            double loss = 0;
            for (int i = 0; i < n; i++) {
                double[] row = x[i];
                scores(theta, row, dim, classes, z);
                double max = z[0];
                for (int c = 1; c < classes; c++) max = Math.max(max, z[c]);
                double picked = z[y[i]];
                double sum = 0;
                for (int c = 0; c < classes; c++) {
                    z[c] = Math.exp(z[c] - max);
                    sum += z[c];
                }
                loss += Math.log(sum) + max - picked;
                for (int c = 0; c < classes; c++) {
                    double g = (z[c] / sum - (c == y[i] ? 1.0 : 0.0)) / n;
                    if (g != 0) {
                        int off = c * dim;
                        for (int j = 0; j < dim; j++) grad[off + j] += g * row[j];
                        grad[biases + c] += g;
                    }
                }
            }
            loss /= n;
            double wNorm = 0;
            for (int i = 0; i < biases; i++) {
                wNorm += theta[i] * theta[i];
                grad[i] += l2 * theta[i];
            }
            return loss + 0.5 * l2 * wNorm;
        }
    }

    /** {@code z[c] = b[c] + W[c] . row}. */
    static void scores(double[] theta, double[] row, int dim, int classes, double[] z) {
        int biases = dim * classes;
        for (int c = 0; c < classes; c++) {
            int off = c * dim;
            // Four accumulators break the add dependency chain (the JIT does not reorder floating-point sums).
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            int j = 0;
            for (; j + 3 < dim; j += 4) {
                s0 += theta[off + j] * row[j];
                s1 += theta[off + j + 1] * row[j + 1];
                s2 += theta[off + j + 2] * row[j + 2];
                s3 += theta[off + j + 3] * row[j + 3];
            }
            for (; j < dim; j++) s0 += theta[off + j] * row[j];
            z[c] = theta[biases + c] + (s0 + s1) + (s2 + s3);
        }
    }

    /**
     * Limited-memory BFGS (history 10) with a backtracking Armijo line search; updates {@code theta} in place.
     * Stops after {@code maxIterations}, when the gradient's largest component is below 1e-6, or when the loss
     * stops decreasing.
     *
     * @return iterations run
     */
    static int lbfgs(Objective f, double[] theta, int maxIterations) {
        int n = theta.length;
        int history = 10;
        Deque<double[]> sList = new ArrayDeque<>();
        Deque<double[]> yList = new ArrayDeque<>();
        Deque<Double> rhoList = new ArrayDeque<>();
        double[] g = new double[n];
        double loss = f.valueAndGradient(theta, g);
        double[] gNew = new double[n];
        double[] trial = new double[n];
        int it = 0;
        for (; it < maxIterations; it++) {
            if (maxAbs(g) < 1e-6) break;
            double[] d = direction(g, sList, yList, rhoList);
            double slope = dot(g, d);
            if (!(slope < 0)) {           // not a descent direction: restart from steepest descent
                sList.clear();
                yList.clear();
                rhoList.clear();
                d = negate(g);
                slope = dot(g, d);
            }
            double step = sList.isEmpty() ? Math.min(1.0, 1.0 / Math.sqrt(-slope)) : 1.0;
            double newLoss = Double.NaN;
            boolean accepted = false;
            for (int ls = 0; ls < 30; ls++) {
                for (int i = 0; i < n; i++) trial[i] = theta[i] + step * d[i];
                newLoss = f.valueAndGradient(trial, gNew);
                if (newLoss <= loss + 1e-4 * step * slope) {
                    accepted = true;
                    break;
                }
                step *= 0.5;
            }
            if (!accepted) break;
            double[] s = new double[n];
            double[] y = new double[n];
            for (int i = 0; i < n; i++) {
                s[i] = trial[i] - theta[i];
                y[i] = gNew[i] - g[i];
            }
            double sy = dot(s, y);
            if (sy > 1e-12) {
                if (sList.size() == history) {
                    sList.removeFirst();
                    yList.removeFirst();
                    rhoList.removeFirst();
                }
                sList.addLast(s);
                yList.addLast(y);
                rhoList.addLast(1.0 / sy);
            }
            System.arraycopy(trial, 0, theta, 0, n);
            System.arraycopy(gNew, 0, g, 0, n);
            double decrease = loss - newLoss;
            loss = newLoss;
            if (decrease <= 1e-10 * Math.max(1.0, Math.abs(loss))) {
                it++;
                break;
            }
        }
        return it;
    }

    /** Two-loop recursion: {@code -H g} with the stored curvature pairs (oldest first). */
    private static double[] direction(double[] g, Deque<double[]> sList, Deque<double[]> yList, Deque<Double> rhoList) {
        double[] q = g.clone();
        int m = sList.size();
        double[][] s = sList.toArray(new double[0][]);
        double[][] y = yList.toArray(new double[0][]);
        Double[] rho = rhoList.toArray(new Double[0]);
        double[] alpha = new double[m];
        for (int i = m - 1; i >= 0; i--) {
            alpha[i] = rho[i] * dot(s[i], q);
            axpy(-alpha[i], y[i], q);
        }
        if (m > 0) {
            double gamma = dot(s[m - 1], y[m - 1]) / dot(y[m - 1], y[m - 1]);
            for (int i = 0; i < q.length; i++) q[i] *= gamma;
        }
        for (int i = 0; i < m; i++) {
            double beta = rho[i] * dot(y[i], q);
            axpy(alpha[i] - beta, s[i], q);
        }
        for (int i = 0; i < q.length; i++) q[i] = -q[i];
        return q;
    }

    /** Column means and standard deviations; a constant column gets scale 1 (it stays 0 after centring). */
    static void standardisation(float[][] x, double[] mean, double[] scale) {
        int dim = mean.length;
        for (float[] row : x) for (int j = 0; j < dim; j++) mean[j] += row[j];
        for (int j = 0; j < dim; j++) mean[j] /= x.length;
        for (float[] row : x) {
            for (int j = 0; j < dim; j++) {
                double c = row[j] - mean[j];
                scale[j] += c * c;
            }
        }
        for (int j = 0; j < dim; j++) {
            double sd = Math.sqrt(scale[j] / x.length);
            scale[j] = sd > 1e-6 ? sd : 1.0;
        }
    }

    static double[][] standardise(float[][] x, double[] mean, double[] scale) {
        int dim = mean.length;
        double[][] out = new double[x.length][dim];
        for (int i = 0; i < x.length; i++) {
            if (x[i].length != dim) throw new IllegalArgumentException("row " + i + " has width " + x[i].length + ", expected " + dim);
            for (int j = 0; j < dim; j++) out[i][j] = (x[i][j] - mean[j]) / scale[j];
        }
        return out;
    }

    static double accuracy(int[] pred, int[] truth) {
        int c = 0;
        for (int i = 0; i < pred.length; i++) if (pred[i] == truth[i]) c++;
        return (double) c / pred.length;
    }

    private static void checkRows(float[][] x, int[] y, String what) {
        if (x.length != y.length) {
            throw new IllegalArgumentException(what + ": " + x.length + " rows but " + y.length + " labels");
        }
        if (x.length > 0) {
            int dim = x[0].length;
            if (dim == 0) throw new IllegalArgumentException(what + " rows have width 0");
            for (float[] row : x) {
                if (row.length != dim) throw new IllegalArgumentException(what + " rows have different widths");
            }
        }
    }

    private static int[] shuffled(int n, long seed) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Random r = new Random(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    private static float[][] pick(float[][] x, int[] order, int from, int to) {
        float[][] out = new float[to - from][];
        for (int i = from; i < to; i++) out[i - from] = x[order[i]];
        return out;
    }

    private static int[] pick(int[] y, int[] order, int from, int to) {
        int[] out = new int[to - from];
        for (int i = from; i < to; i++) out[i - from] = y[order[i]];
        return out;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private static void axpy(double a, double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) y[i] += a * x[i];
    }

    private static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    private static double[] negate(double[] a) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) out[i] = -a[i];
        return out;
    }
}
