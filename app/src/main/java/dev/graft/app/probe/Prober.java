package dev.graft.app.probe;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.progress.Progress;
import dev.graft.common.image.ImageDecoder;
import dev.graft.common.image.Resizer;
import dev.graft.common.image.RgbImage;
import java.util.ArrayList;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.function.LongConsumer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The probe's steps, apart from where the sample and the network come from: decode and resize the sample as the
 * feature worker does, run every batch once through the base computing all candidate layers, time the forward
 * pass to each layer's depth, and fit a {@link LinearProbe} per layer and on raw pixels.
 */
public final class Prober {

    /** Side of the raw-pixel baseline: images are resized to this many pixels square, RGB (Fashion-MNIST's own size). */
    public static final int PIXEL_SIZE = 28;

    /**
     * @param inputSize the base's square input size
     * @param batchSize images per forward pass
     * @param timingImages images per layer in the speed measurement (after one warm-up batch)
     * @param probe the linear probe's options
     */
    public record Options(int inputSize, int batchSize, int timingImages, LinearProbe.Options probe) {
        public Options {
            if (inputSize < 8) throw new IllegalArgumentException("--input-size must be at least 8, got " + inputSize);
            if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
            if (timingImages < 1) throw new IllegalArgumentException("timing images must be at least 1, got " + timingImages);
        }
    }

    /**
     * Everything computed from the images.
     *
     * @param perLayer per layer, one vector per kept image
     * @param pixels raw-pixel vectors ({@value #PIXEL_SIZE}² × 3, values in [0,255])
     * @param labels label of each kept image
     * @param validation whether each kept image is in the validation split
     * @param rejected images that could not be decoded (skipped)
     * @param decodeSeconds decoding plus resizing to the input size
     * @param pixelSeconds decoding plus resizing to the raw-pixel size
     * @param forwardSeconds all forward passes (every layer in one pass per batch), preprocessing and pooling included
     */
    public record Features(List<float[][]> perLayer, float[][] pixels, String[] labels, boolean[] validation,
                           int rejected, double decodeSeconds, double pixelSeconds, double forwardSeconds) {
        public int count() {
            return labels.length;
        }
    }

    private final Options options;

    public Prober(Options options) {
        this.options = options;
    }

    /**
     * The whole probe: picks the layers ({@link ProbeLayers#select}), runs the sample once through the base cut at
     * all of them, times each layer's depth alone, fits the probes and builds the report. Progress bars go to
     * {@code progressOut}.
     *
     * @param layersArg {@code auto} or a comma-separated list
     * @param describeBase e.g. the spec, for the title
     */
    public ProbeReport run(ProbeSample sample, BaseNetworks.Source src, String layersArg, String describeBase,
                           PrintStream progressOut) {
        long start = System.nanoTime();
        String bottleneck = BaseNetworks.defaultCut(src);
        List<String> layers = ProbeLayers.select(src.graph().getConfiguration(), bottleneck, layersArg);
        int size = options.inputSize();
        Features features;
        try (BaseNetwork multi = BaseNetworks.loadCuts(src, layers, size);
             Progress bar = Progress.bar(progressOut, "forward pass, " + layers.size() + " layers", sample.images().size(), "images")) {
            features = featurize(sample, multi, bar::update);
        }
        INDArray batch = timingBatch(sample);
        double[] speed = new double[layers.size()];
        try (Progress bar = Progress.bar(progressOut, "speed to each depth", layers.size(), "layers")) {
            for (int l = 0; l < layers.size(); l++) {
                try (BaseNetwork one = BaseNetworks.load(src, layers.get(l), size)) {
                    speed[l] = imagesPerSecond(one, batch);
                }
                bar.update(l + 1);
            }
        }
        long probeStart = System.nanoTime();
        long nVal = 0;
        for (boolean v : features.validation()) if (v) nVal++;
        List<String> notes = new ArrayList<>();
        String title = String.format(Locale.ROOT, "graft probe: %s at %d px, %d images (%d train / %d validation%s) from %s",
                describeBase, size, features.count(), features.count() - nVal, nVal,
                features.rejected() > 0 ? ", " + features.rejected() + " undecodable skipped" : "", sample.description());
        ProbeReport report;
        try (Progress bar = Progress.bar(progressOut, "linear probes", layers.size() + 1, "fits")) {
            report = evaluate(features, layers, speed, title, notes, bar::update);
        }
        double probeSeconds = (System.nanoTime() - probeStart) / 1e9;
        double[] grid = options.probe().l2Grid();
        Arrays.sort(grid);
        notes.add(String.format(Locale.ROOT, "img/s to depth: the base cut at that layer alone (preprocessing, forward pass, "
                + "spatial average; decoding excluded), batch %d, timed over %d images after one warm-up batch; "
                + "raw pixels: decoding + resizing to %d×%d RGB (%d-d).", (int) batch.size(0),
                roundUp(options.timingImages(), (int) batch.size(0)), PIXEL_SIZE, PIXEL_SIZE, PIXEL_SIZE * PIXEL_SIZE * 3));
        notes.add(String.format(Locale.ROOT, "one forward pass per batch of %d for all %d layers: %.1f s for %d images "
                + "(%.1f img/s); decoding + resizing to %d px: %.1f img/s; probes: %.1f s; total %.1f s.",
                options.batchSize(), layers.size(), features.forwardSeconds(), features.count(),
                features.count() / features.forwardSeconds(), size, features.count() / features.decodeSeconds(),
                probeSeconds, (System.nanoTime() - start) / 1e9));
        notes.add(String.format(Locale.ROOT, "probe: multinomial logistic regression on standardised features, full-batch "
                + "L-BFGS (≤ %d iterations), L2 from %s chosen on a %d%% hold-out of the training images, then refitted "
                + "on all of them; ± SE = binomial standard error on the validation images.",
                options.probe().maxIterations(), Arrays.toString(grid), Math.round(100 * options.probe().holdoutFraction())));
        return new ProbeReport(report.title(), report.layers(), report.pixels(), report.classes(), notes);
    }

    private static int roundUp(int n, int batch) {
        return (n + batch - 1) / batch * batch;
    }

    /**
     * Decodes the sample and runs it through {@code base} batch by batch, one forward pass per batch for all of
     * its cuts ({@link BaseNetwork#extractAll}); {@code progress} gets the images done.
     */
    public Features featurize(ProbeSample sample, BaseNetwork base, LongConsumer progress) {
        int layers = base.refs().size();
        int size = options.inputSize();
        int pixels = size * size * 3;
        ImageDecoder decoder = new ImageDecoder();
        List<List<float[]>> perLayer = new ArrayList<>();
        for (int l = 0; l < layers; l++) perLayer.add(new ArrayList<>());
        List<float[]> raw = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        List<Boolean> validation = new ArrayList<>();
        int rejected = 0;
        long decodeNs = 0, pixelNs = 0, forwardNs = 0;
        List<ProbeSample.Image> images = sample.images();
        for (int from = 0; from < images.size(); from += options.batchSize()) {
            List<ProbeSample.Image> batch = images.subList(from, Math.min(images.size(), from + options.batchSize()));
            float[] buffer = new float[batch.size() * pixels];
            int n = 0;
            for (ProbeSample.Image img : batch) {
                long t0 = System.nanoTime();
                long t1, t2, t3;
                float[] small;
                try {
                    RgbImage rgb = decoder.decode(img.bytes());
                    t1 = System.nanoTime();
                    Resizer.resizeInto(rgb, size, buffer, n * pixels);
                    t2 = System.nanoTime();
                    small = Resizer.resize(rgb, PIXEL_SIZE);
                    t3 = System.nanoTime();
                } catch (RuntimeException e) {   // ImageRejectedException or a resize failure: the worker dead-letters these
                    rejected++;
                    continue;
                }
                raw.add(small);
                decodeNs += t2 - t0;
                pixelNs += (t1 - t0) + (t3 - t2);
                labels.add(img.label());
                validation.add(img.validation());
                n++;
            }
            if (n > 0) {
                float[] exact = n == batch.size() ? buffer : Arrays.copyOf(buffer, n * pixels);
                INDArray input = Nd4j.create(exact, new long[] {n, size, size, 3}, 'c');
                long t0 = System.nanoTime();
                List<INDArray> out = base.extractAll(input);
                forwardNs += System.nanoTime() - t0;
                for (int l = 0; l < layers; l++) perLayer.get(l).addAll(Arrays.asList(out.get(l).toFloatMatrix()));
            }
            progress.accept(from + batch.size());
        }
        boolean[] val = new boolean[validation.size()];
        for (int i = 0; i < val.length; i++) val[i] = validation.get(i);
        List<float[][]> layerArrays = perLayer.stream().map(l -> l.toArray(new float[0][])).toList();
        return new Features(layerArrays, raw.toArray(new float[0][]), labels.toArray(new String[0]), val, rejected,
                decodeNs / 1e9, pixelNs / 1e9, forwardNs / 1e9);
    }

    /**
     * Throughput of one cut base on {@code batch} (already decoded, [0,255]): one untimed warm-up pass, then
     * passes until at least {@link Options#timingImages()} images; wall time of {@code extract} (preprocessing,
     * forward pass to the cut, spatial average).
     */
    public double imagesPerSecond(BaseNetwork cut, INDArray batch) {
        cut.extract(batch);
        int n = (int) batch.size(0);
        int done = 0;
        long t0 = System.nanoTime();
        while (done < options.timingImages()) {
            cut.extract(batch);
            done += n;
        }
        return done / ((System.nanoTime() - t0) / 1e9);
    }

    /** The first (up to) one batch of the sample, decoded and resized: the input of the speed measurement. */
    public INDArray timingBatch(ProbeSample sample) {
        int size = options.inputSize();
        int pixels = size * size * 3;
        ImageDecoder decoder = new ImageDecoder();
        float[] buffer = new float[options.batchSize() * pixels];
        int n = 0;
        for (ProbeSample.Image img : sample.images()) {
            if (n == options.batchSize()) break;
            try {
                Resizer.resizeInto(decoder.decode(img.bytes()), size, buffer, n * pixels);
                n++;
            } catch (RuntimeException e) {
                // skipped, as in featurize
            }
        }
        if (n == 0) throw new IllegalArgumentException("no image of the sample could be decoded");
        return Nd4j.create(Arrays.copyOf(buffer, n * pixels), new long[] {n, size, size, 3}, 'c');
    }

    /**
     * Fits the probe on every layer and on raw pixels.
     *
     * @param layers layer names, in the order of {@code features.perLayer()}
     * @param imagesPerSecond speed to each layer's depth, same order
     */
    public ProbeReport evaluate(Features features, List<String> layers, double[] imagesPerSecond, String title,
                                List<String> notes, LongConsumer progress) {
        TreeSet<String> trainLabels = new TreeSet<>();
        int nTrain = 0;
        for (int i = 0; i < features.count(); i++) {
            if (!features.validation()[i]) {
                trainLabels.add(features.labels()[i]);
                nTrain++;
            }
        }
        int nVal = features.count() - nTrain;
        if (nTrain == 0 || nVal == 0) {
            throw new IllegalArgumentException("the sample has " + nTrain + " training and " + nVal + " validation images; "
                    + "the probe needs both (more --images, or another --validation-percent)");
        }
        if (trainLabels.size() < 2) {
            throw new IllegalArgumentException("the training images have " + trainLabels.size() + " class(es) " + trainLabels
                    + "; the probe needs at least 2");
        }
        List<String> classes = new ArrayList<>(trainLabels);
        int[] trainY = new int[nTrain];
        int[] valY = new int[nVal];
        int[] trainIdx = new int[nTrain];
        int[] valIdx = new int[nVal];
        for (int i = 0, t = 0, v = 0; i < features.count(); i++) {
            int y = classes.indexOf(features.labels()[i]);   // -1 for a class only in validation: always an error
            if (features.validation()[i]) {
                valIdx[v] = i;
                valY[v++] = y;
            } else {
                trainIdx[t] = i;
                trainY[t++] = y;
            }
        }
        LinearProbe probe = new LinearProbe(options.probe());
        // The fits are independent and single-threaded: run them on every core, the widest (raw pixels) first.
        int fits = layers.size() + 1;
        java.util.concurrent.atomic.AtomicLong done = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(
                Math.max(1, Math.min(fits, Runtime.getRuntime().availableProcessors())));
        try {
            java.util.concurrent.Future<ProbeReport.Row> pixelsFit = pool.submit(() -> {
                ProbeReport.Row r = row(probe, ProbeReport.PIXELS, features.pixels(), trainIdx, trainY, valIdx, valY,
                        classes.size(), features.count() / features.pixelSeconds());
                progress.accept(done.incrementAndGet());
                return r;
            });
            List<java.util.concurrent.Future<ProbeReport.Row>> layerFits = new ArrayList<>();
            for (int l = 0; l < layers.size(); l++) {
                int layer = l;
                layerFits.add(pool.submit(() -> {
                    ProbeReport.Row r = row(probe, layers.get(layer), features.perLayer().get(layer), trainIdx, trainY,
                            valIdx, valY, classes.size(), imagesPerSecond[layer]);
                    progress.accept(done.incrementAndGet());
                    return r;
                }));
            }
            List<ProbeReport.Row> rows = new ArrayList<>();
            for (java.util.concurrent.Future<ProbeReport.Row> f : layerFits) rows.add(join(f));
            ProbeReport.Row pixels = join(pixelsFit);
            return new ProbeReport(title, rows, pixels, classes.size(), notes);
        } finally {
            pool.shutdownNow();
        }
    }

    private static <T> T join(java.util.concurrent.Future<T> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while fitting the probes", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        }
    }

    private static ProbeReport.Row row(LinearProbe probe, String name, float[][] x, int[] trainIdx, int[] trainY,
                                       int[] valIdx, int[] valY, int classes, double imagesPerSecond) {
        LinearProbe.Result r = probe.evaluate(rows(x, trainIdx), trainY, rows(x, valIdx), valY, classes);
        return new ProbeReport.Row(name, x[0].length, r.accuracy(), r.correct(), r.count(), imagesPerSecond, r.l2());
    }

    private static float[][] rows(float[][] x, int[] idx) {
        float[][] out = new float[idx.length][];
        for (int i = 0; i < idx.length; i++) out[i] = x[idx[i]];
        return out;
    }
}
