package dev.graft.app.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class LinearProbeTest {

    /** {@code n} points per class around centres {@code separation} apart on distinct axes, unit noise. */
    private static float[][] blobs(int classes, int perClass, int dim, double separation, long seed, int[] labelsOut) {
        Random r = new Random(seed);
        float[][] x = new float[classes * perClass][dim];
        for (int c = 0; c < classes; c++) {
            for (int i = 0; i < perClass; i++) {
                int row = c * perClass + i;
                labelsOut[row] = c;
                for (int j = 0; j < dim; j++) {
                    // Offset the features so standardisation has something to do.
                    x[row][j] = (float) (100 + 10 * j + r.nextGaussian() + (j == c ? separation : 0));
                }
            }
        }
        return x;
    }

    @Test
    void separatesGaussianBlobs() {
        int[] ty = new int[3 * 200];
        float[][] tx = blobs(3, 200, 6, 5.0, 1, ty);
        int[] vy = new int[3 * 100];
        float[][] vx = blobs(3, 100, 6, 5.0, 2, vy);
        LinearProbe.Result r = new LinearProbe(LinearProbe.Options.defaults()).evaluate(tx, ty, vx, vy, 3);
        assertThat(r.accuracy()).isGreaterThan(0.97);
        assertThat(r.count()).isEqualTo(300);
        assertThat(r.holdoutAccuracy()).isGreaterThan(0.9);
    }

    @Test
    void overlappingBlobsGiveTheBayesRateNotPerfection() {
        // Two classes whose centres are sqrt(2) apart (one unit on each of two axes): Bayes-optimal
        // accuracy Phi(sqrt(2)/2) = 0.760.
        int[] ty = new int[2 * 1000];
        float[][] tx = blobs(2, 1000, 2, 1.0, 3, ty);
        int[] vy = new int[2 * 1000];
        float[][] vx = blobs(2, 1000, 2, 1.0, 4, vy);
        LinearProbe.Result r = new LinearProbe(LinearProbe.Options.defaults()).evaluate(tx, ty, vx, vy, 2);
        assertThat(r.accuracy()).isBetween(0.73, 0.79);
    }

    @Test
    void randomLabelsStayAtChance() {
        Random rnd = new Random(5);
        float[][] tx = new float[800][20];
        int[] ty = new int[800];
        float[][] vx = new float[800][20];
        int[] vy = new int[800];
        for (int i = 0; i < 800; i++) {
            for (int j = 0; j < 20; j++) {
                tx[i][j] = (float) rnd.nextGaussian();
                vx[i][j] = (float) rnd.nextGaussian();
            }
            ty[i] = rnd.nextInt(4);
            vy[i] = rnd.nextInt(4);
        }
        LinearProbe.Result r = new LinearProbe(LinearProbe.Options.defaults()).evaluate(tx, ty, vx, vy, 4);
        assertThat(r.accuracy()).isBetween(0.18, 0.33);
    }

    @Test
    void gradientMatchesFiniteDifferences() {
        Random rnd = new Random(7);
        int n = 12, dim = 4, classes = 3;
        double[][] x = new double[n][dim];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < dim; j++) x[i][j] = rnd.nextDouble() - 0.5;
            y[i] = rnd.nextInt(classes);
        }
        LinearProbe.Objective f = new LinearProbe.Objective(x, y, classes, 0.3);
        double[] theta = new double[(dim + 1) * classes];
        for (int i = 0; i < theta.length; i++) theta[i] = rnd.nextGaussian();
        double[] grad = new double[theta.length];
        f.valueAndGradient(theta, grad);
        double h = 1e-6;
        double[] scratch = new double[theta.length];
        for (int i = 0; i < theta.length; i++) {
            double[] plus = theta.clone();
            plus[i] += h;
            double[] minus = theta.clone();
            minus[i] -= h;
            double numeric = (f.valueAndGradient(plus, scratch) - f.valueAndGradient(minus, scratch)) / (2 * h);
            assertThat(grad[i]).as("d loss / d theta[%d]", i).isCloseTo(numeric, within(1e-6));
        }
    }

    @Test
    void lbfgsReachesTheMinimumOfTheRegularisedLoss() {
        int[] y = new int[3 * 50];
        float[][] xs = blobs(3, 50, 3, 1.5, 8, y);
        LinearProbe probe = new LinearProbe(LinearProbe.Options.defaults());
        LinearProbe.Model m = probe.fit(xs, y, 3, 1e-2, null);
        double[][] x = LinearProbe.standardise(xs, m.mean(), m.scale());
        double[] grad = new double[m.params().length];
        new LinearProbe.Objective(x, y, 3, 1e-2).valueAndGradient(m.params(), grad);
        for (double g : grad) assertThat(Math.abs(g)).isLessThan(1e-4);
    }

    @Test
    void validationLabelNeverSeenInTrainingCountsAsWrong() {
        int[] ty = new int[2 * 100];
        float[][] tx = blobs(2, 100, 3, 6.0, 9, ty);
        int[] vy = new int[2 * 10];
        float[][] vx = blobs(2, 10, 3, 6.0, 10, vy);
        for (int i = 0; i < 10; i++) vy[i] = 7;     // a class the probe cannot know
        LinearProbe.Result r = new LinearProbe(LinearProbe.Options.defaults()).evaluate(tx, ty, vx, vy, 2);
        assertThat(r.correct()).isLessThanOrEqualTo(10);
        assertThat(r.accuracy()).isLessThanOrEqualTo(0.5);
    }

    @Test
    void sameInputsGiveTheSameResult() {
        int[] ty = new int[3 * 60];
        float[][] tx = blobs(3, 60, 5, 1.0, 11, ty);
        int[] vy = new int[3 * 30];
        float[][] vx = blobs(3, 30, 5, 1.0, 12, vy);
        LinearProbe p = new LinearProbe(LinearProbe.Options.defaults());
        assertThat(p.evaluate(tx, ty, vx, vy, 3)).isEqualTo(p.evaluate(tx, ty, vx, vy, 3));
    }

    @Test
    void constantColumnsDoNotBreakStandardisation() {
        int[] ty = new int[2 * 50];
        float[][] tx = blobs(2, 50, 3, 6.0, 13, ty);
        int[] vy = new int[2 * 20];
        float[][] vx = blobs(2, 20, 3, 6.0, 14, vy);
        for (float[] row : tx) row[2] = 0f;   // a ReLU unit that never fires
        for (float[] row : vx) row[2] = 0f;
        LinearProbe.Result r = new LinearProbe(LinearProbe.Options.defaults()).evaluate(tx, ty, vx, vy, 2);
        assertThat(r.accuracy()).isGreaterThan(0.95);
    }

    @Test
    void rejectsMismatchedInputs() {
        LinearProbe p = new LinearProbe(LinearProbe.Options.defaults());
        assertThatThrownBy(() -> p.evaluate(new float[2][3], new int[3], new float[1][3], new int[1], 2))
                .hasMessageContaining("2 rows but 3 labels");
        assertThatThrownBy(() -> p.evaluate(new float[2][3], new int[] {0, 5}, new float[1][3], new int[1], 2))
                .hasMessageContaining("outside");
        assertThatThrownBy(() -> new LinearProbe.Options(new double[] {0}, 10, 0.2, 1)).hasMessageContaining("> 0");
    }
}
