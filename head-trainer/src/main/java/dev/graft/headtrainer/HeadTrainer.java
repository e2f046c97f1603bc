package dev.graft.headtrainer;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains a classifier head (Dense ReLU -> Output softmax, MCXENT; or softmax only) on the train
 * split of a {@link VectorStore}.
 *
 * <p><b>Warm start / class-incremental.</b> A previous head is reused when its input dim and
 * architecture match and its labels are a prefix of the store's labels (the store assigns label
 * indices in order of first appearance, so this holds unless the store was rebuilt). New labels
 * grow the output layer: the old classes' weight columns and biases are copied, the new classes'
 * columns keep the fresh (seeded Xavier) initialisation and zero bias. Training then runs on the
 * whole train split (old and new classes: the store keeps every vector, so this is rehearsal of all
 * data rather than learning new classes alone, which is what keeps old classes from being forgotten).
 * Adam state is not carried over. If standardising, the statistics are refitted on the current data
 * and the previous first layer is rewritten so it computes exactly the same function under the new
 * statistics. An incompatible previous head is ignored (trained from scratch, see
 * {@link TrainingInfo#warmStarted()}).
 *
 * <p><b>Determinism.</b> The seed fixes weight initialisation, dropout masks and the minibatch
 * order; the same data and config give bit-identical weights on the same machine. (Nd4j's global
 * random generator is reseeded, so do not train two heads concurrently in one JVM if bit-exact
 * reproducibility matters.)
 */
public final class HeadTrainer {

    private static final Logger log = LoggerFactory.getLogger(HeadTrainer.class);

    public TrainedHead train(HeadConfig config, VectorStore store, Optional<TrainedHead> warmStart) {
        VectorStore.SplitData train = store.train();
        return train(config, train.features(), train.labels(), train.labelNames(), warmStart, store.task(),
                store.baseId());
    }

    /**
     * Lower-level entry: x [n, dim] raw features, y label indices into {@code labels}.
     */
    public TrainedHead train(HeadConfig config, INDArray x, int[] y, List<String> labels,
                             Optional<TrainedHead> warmStart, String task, String baseId) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(warmStart, "warmStart");
        int n = (int) x.rows();
        int dim = (int) x.columns();
        int k = labels.size();
        if (n == 0) {
            throw new IllegalStateException("no train vectors");
        }
        if (k < 2) {
            throw new IllegalStateException("need at least 2 labels to train a softmax head, have " + labels);
        }
        if (y.length != n) {
            throw new IllegalArgumentException(n + " rows but " + y.length + " labels");
        }

        TrainedHead parent = warmStart.filter(p -> compatible(p, config, dim, labels)).orElse(null);
        if (parent == null && warmStart.isPresent()) {
            log.info("previous head {} not compatible with {} dim {} labels {}: training from scratch",
                    warmStart.get(), config.architecture(), dim, labels);
        }

        Standardizer standardizer = config.standardize() ? Standardizer.fit(x) : null;
        INDArray input = standardizer == null ? x.castTo(DataType.FLOAT) : standardizer.apply(x);

        MultiLayerNetwork net = new MultiLayerNetwork(configuration(config, dim, k));
        net.init();
        if (parent != null) {
            copyWeights(parent, net, standardizer);
        }

        INDArray oneHot = oneHot(y, k);
        Nd4j.getRandom().setSeed(config.seed());
        Random order = new Random(config.seed());
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        double lastEpochLoss = Double.NaN;
        long t0 = System.nanoTime();
        for (int epoch = 0; epoch < config.epochs(); epoch++) {
            shuffle(perm, order);
            // one gather per epoch, then minibatches are contiguous row ranges (views, no copies)
            INDArray xs = input.getRows(perm);
            INDArray ys = oneHot.getRows(perm);
            double lossSum = 0;
            int batches = 0;
            for (int start = 0; start < n; start += config.batchSize()) {
                int end = Math.min(n, start + config.batchSize());
                INDArrayIndex rows = NDArrayIndex.interval(start, end);
                net.fit(new DataSet(xs.get(rows, NDArrayIndex.all()), ys.get(rows, NDArrayIndex.all())));
                lossSum += net.score();
                batches++;
            }
            lastEpochLoss = lossSum / batches;
            log.debug("epoch {}/{}: mean minibatch loss {}", epoch + 1, config.epochs(), lastEpochLoss);
        }
        long millis = (System.nanoTime() - t0) / 1_000_000;
        TrainingInfo info = new TrainingInfo(n, config.epochs(), millis, parent != null,
                parent == null ? 0 : parent.labelCount(), lastEpochLoss);
        log.info("trained head for task {} on {} vectors, {} labels, {} in {} ms (warm start: {}), last loss {}",
                task, n, k, config.architecture(), millis, parent != null, lastEpochLoss);
        return new TrainedHead(net, labels, config, standardizer, task, baseId, dim, info);
    }

    static boolean compatible(TrainedHead parent, HeadConfig config, int dim, List<String> labels) {
        List<String> old = parent.labels();
        return parent.inputDim() == dim
                && parent.config().sameArchitecture(config)
                && old.size() <= labels.size()
                && labels.subList(0, old.size()).equals(old);
    }

    static MultiLayerConfiguration configuration(HeadConfig c, int nIn, int k) {
        NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder()
                .seed(c.seed())
                .dataType(DataType.FLOAT)
                .weightInit(WeightInit.XAVIER)
                .updater(new Adam(c.learningRate()))
                .l2(c.l2())
                .list();
        int outIn = nIn;
        if (c.hiddenUnits() > 0) {
            list.layer(new DenseLayer.Builder().nIn(nIn).nOut(c.hiddenUnits()).activation(Activation.RELU).build());
            outIn = c.hiddenUnits();
        }
        OutputLayer.Builder out = new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                .nIn(outIn).nOut(k).activation(Activation.SOFTMAX);
        if (c.dropout() > 0) {
            out.dropOut(new Dropout(1.0 - c.dropout())); // DL4J takes the retain probability
        }
        list.layer(out.build());
        return list.build();
    }

    /**
     * Copies the parent's weights into a freshly initialised network with k >= parent's classes.
     * If standardising, the parent's first layer W, b (fitted for stats m0, s0) is rewritten for the
     * new stats m1, s1: W' = diag(s1/s0) W, b' = b + ((m1 - m0)/s0) W, which gives the same
     * pre-activations for every raw input.
     */
    private static void copyWeights(TrainedHead parent, MultiLayerNetwork net, Standardizer now) {
        MultiLayerNetwork old = parent.network();
        int layers = net.getnLayers();
        int out = layers - 1;
        for (int l = 0; l < layers; l++) {
            INDArray w = old.getLayer(l).getParam("W").dup();
            INDArray b = old.getLayer(l).getParam("b").dup();
            if (l == 0 && now != null) {
                Standardizer before = parent.standardizer().orElseThrow();
                int dim = before.dim();
                float[] ratio = new float[dim];
                float[] shift = new float[dim];
                float[] m0 = before.mean();
                float[] s0 = before.scale();
                float[] m1 = now.mean();
                float[] s1 = now.scale();
                for (int j = 0; j < dim; j++) {
                    ratio[j] = s1[j] / s0[j];
                    shift[j] = (m1[j] - m0[j]) / s0[j];
                }
                INDArray shiftRow = Nd4j.create(shift, new long[] {1, dim}, DataType.FLOAT);
                b = b.add(shiftRow.mmul(w));
                w = w.mulColumnVector(Nd4j.create(ratio, new long[] {dim, 1}, DataType.FLOAT));
            }
            if (l < out) {
                net.getLayer(l).getParam("W").assign(w);
                net.getLayer(l).getParam("b").assign(b);
            } else {
                long kOld = w.columns();
                net.getLayer(l).getParam("W").get(NDArrayIndex.all(), NDArrayIndex.interval(0, kOld)).assign(w);
                net.getLayer(l).getParam("b").get(NDArrayIndex.all(), NDArrayIndex.interval(0, kOld)).assign(b);
            }
        }
    }

    private static INDArray oneHot(int[] y, int k) {
        float[] flat = new float[y.length * k];
        for (int i = 0; i < y.length; i++) {
            if (y[i] < 0 || y[i] >= k) {
                throw new IllegalArgumentException("label index " + y[i] + " outside [0, " + k + ")");
            }
            flat[i * k + y[i]] = 1f;
        }
        return Nd4j.create(flat, new long[] {y.length, k}, DataType.FLOAT);
    }

    private static void shuffle(int[] a, Random r) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
