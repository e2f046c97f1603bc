package dev.graft.finetune;

import dev.graft.common.image.Resizer;
import dev.graft.headtrainer.Evaluator;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains a {@link FineTuneGraph} on decoded images (augmented per {@link Settings#augmentation}) and evaluates it.
 * Pure computation: no Kafka. The seed fixes the image order and the augmentation draws.
 */
public final class FineTuner {
    private static final Logger log = LoggerFactory.getLogger(FineTuner.class);

    private FineTuner() {}

    /** How to train; validated. */
    public record Settings(int epochs, int batchSize, Augmentation augmentation, long seed) {
        public Settings {
            if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
            if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
            if (augmentation == null) augmentation = Augmentation.NONE;
        }
    }

    /** Called after every minibatch. */
    public interface Progress {
        Progress NONE = (epoch, done, total, loss, imagesPerSecond) -> { };

        void batch(int epoch, int imagesDone, int imagesTotal, double loss, double imagesPerSecond);
    }

    /**
     * @param epochLoss mean minibatch loss of each epoch
     * @param seconds wall time of all epochs
     */
    public record Stats(int trainCount, List<Double> epochLoss, double seconds) {
        public double imagesPerSecond() {
            return seconds <= 0 ? Double.NaN : (double) trainCount * epochLoss.size() / seconds;
        }

        public double secondsPerEpoch() {
            return seconds / epochLoss.size();
        }

        public double lastLoss() {
            return epochLoss.isEmpty() ? Double.NaN : epochLoss.get(epochLoss.size() - 1);
        }
    }

    public static Stats train(FineTuneGraph g, LabelledImages train, Settings s, Progress progress) {
        int n = train.size();
        if (n == 0) throw new IllegalStateException("no train images");
        int k = g.startHead().labelCount();
        int size = g.inputSize();
        int[] y = train.labels();
        Random rnd = new Random(s.seed());
        Nd4j.getRandom().setSeed(s.seed());
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        List<Double> losses = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int epoch = 1; epoch <= s.epochs(); epoch++) {
            for (int i = n - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            double sum = 0;
            int batches = 0;
            for (int start = 0; start < n; start += s.batchSize()) {
                int m = Math.min(s.batchSize(), n - start);
                float[] buf = new float[m * Resizer.floatsPerImage(size)];
                float[] oneHot = new float[m * k];
                for (int i = 0; i < m; i++) {
                    int idx = perm[start + i];
                    s.augmentation().into(train.images().get(idx), size, buf, i * Resizer.floatsPerImage(size), rnd);
                    oneHot[i * k + y[idx]] = 1f;
                }
                INDArray x = g.input(Nd4j.create(buf, new long[] {m, size, size, 3}, 'c'));
                g.trainable().fit(new DataSet(x, Nd4j.create(oneHot, new long[] {m, k}, 'c')));
                double loss = g.trainable().score();
                sum += loss;
                batches++;
                double secs = (System.nanoTime() - t0) / 1e9;
                progress.batch(epoch, start + m, n, loss, ((epoch - 1) * (double) n + start + m) / secs);
            }
            losses.add(sum / batches);
            log.info("fine-tune epoch {}/{}: mean loss {} over {} images, {} images/s", epoch, s.epochs(),
                    String.format("%.4f", sum / batches), n,
                    String.format("%.1f", epoch * (double) n / ((System.nanoTime() - t0) / 1e9)));
        }
        return new Stats(n, List.copyOf(losses), (System.nanoTime() - t0) / 1e9);
    }

    /** Metrics of base + head on {@code data} (no augmentation, inference mode). */
    public static Evaluator.Result evaluate(FineTuneGraph g, LabelledImages data, int batchSize) {
        int n = data.size();
        int size = g.inputSize();
        float[][] probs = new float[n][];
        for (int start = 0; start < n; start += batchSize) {
            int m = Math.min(batchSize, n - start);
            float[] buf = new float[m * Resizer.floatsPerImage(size)];
            for (int i = 0; i < m; i++) {
                Resizer.resizeInto(data.images().get(start + i), size, buf, i * Resizer.floatsPerImage(size));
            }
            float[][] p = g.predict(Nd4j.create(buf, new long[] {m, size, size, 3}, 'c'))
                    .castTo(DataType.FLOAT).toFloatMatrix();
            System.arraycopy(p, 0, probs, start, m);
        }
        return Evaluator.fromProbabilities(probs, data.labels(), data.labelNames());
    }
}
