package dev.graft.app;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.base.BaseSpec;
import dev.graft.common.image.Resizer;
import dev.graft.common.image.RgbImage;
import dev.graft.common.json.Json;
import dev.graft.common.progress.Progress;
import dev.graft.finetune.Augmentation;
import dev.graft.finetune.FineTuneGraph;
import dev.graft.finetune.FineTuner;
import dev.graft.finetune.LabelledImages;
import dev.graft.headtrainer.Evaluator;
import dev.graft.headtrainer.HeadConfig;
import dev.graft.headtrainer.HeadTrainer;
import dev.graft.headtrainer.TrainedHead;
import dev.graft.producer.IdxReader;
import dev.graft.producer.IdxSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `graft bench fine-tune`: one head epoch on cached vectors vs one fine-tune epoch on images. */
final class BenchFineTune {
    private BenchFineTune() {}

    @Command(name = "fine-tune", mixinStandardHelpOptions = true,
            description = {"Cost of one training epoch, in one run on the same Fashion-MNIST images: the head on cached "
                    + "feature vectors (the frozen base ran once, its cost reported apart) vs fine-tuning from the "
                    + "requested block on decoded images (forward through the whole base and backward through the "
                    + "unfrozen blocks, every epoch). Also validation accuracy before and after the fine-tune epochs."})
    static final class FineTune implements Callable<Integer> {
        @Option(names = "--images", defaultValue = "300", description = "Train images (default: ${DEFAULT-VALUE}).")
        int images;

        @Option(names = "--validation", defaultValue = "200", description = "Validation images from the test file (default: ${DEFAULT-VALUE}).")
        int validation;

        @Option(names = "--base", defaultValue = BaseSpec.DEFAULT, description = "Base network spec (default: ${DEFAULT-VALUE}).")
        String base;

        @Option(names = "--cut", defaultValue = "block_12_add", description = "Cut layer (default: ${DEFAULT-VALUE}).")
        String cut;

        @Option(names = "--input-size", defaultValue = "96", description = "Input size (default: ${DEFAULT-VALUE}).")
        int size;

        @Option(names = "--unfreeze-from", defaultValue = "last 1 block", description = "Layer or 'last N blocks' (default: ${DEFAULT-VALUE}).")
        String unfreezeFrom;

        @Option(names = "--epochs", defaultValue = "1", description = "Fine-tune epochs timed (default: ${DEFAULT-VALUE}).")
        int epochs;

        @Option(names = "--batch-size", defaultValue = "16", description = "Fine-tune minibatch (default: ${DEFAULT-VALUE}).")
        int batchSize;

        @Option(names = "--learning-rate", defaultValue = "1e-4", description = "Fine-tune learning rate (default: ${DEFAULT-VALUE}).")
        double learningRate;

        @Option(names = "--data", defaultValue = "/usr/share/datasets/fashion-mnist", description = "Fashion-MNIST IDX directory (default: ${DEFAULT-VALUE}).")
        Path data;

        @Option(names = "--json", paramLabel = "FILE", description = "Also write {\"head_epoch_s\", \"fine_tune_epoch_s\", \"ratio\", ...} as JSON.")
        Path json;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            if (images < 16 || validation < 1 || epochs < 1 || batchSize < 1 || size < 32 || !(learningRate > 0)) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "need --images >= 16, --validation >= 1, --epochs >= 1, --batch-size >= 1, --input-size >= 32, --learning-rate > 0");
            }
            List<String> labels = IdxSource.FASHION_MNIST_CLASSES;
            LabelledImages train = read(data.resolve("train-images-idx3-ubyte.gz"), data.resolve("train-labels-idx1-ubyte.gz"), images, labels);
            LabelledImages val = read(data.resolve("t10k-images-idx3-ubyte.gz"), data.resolve("t10k-labels-idx1-ubyte.gz"), validation, labels);
            BaseNetworks.Source src = BaseNetworks.loadSource(BaseSpec.parse(base), GraftHome.dir().resolve("models"),
                    BaseNetworks.defaultZooDir(), false);
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("images", images);
            result.put("input_size", size);
            result.put("cut", cut);
            result.put("unfreeze_from", unfreezeFrom);

            BaseNetwork frozen = BaseNetworks.load(src, cut, size);
            long t0 = System.nanoTime();
            INDArray xTrain = features(frozen, train);
            double extractS = (System.nanoTime() - t0) / 1e9;
            INDArray xVal = features(frozen, val);
            System.out.printf(Locale.ROOT, "frozen base once over %d images (feature cache fill): %.2f s (%.1f images/s)%n",
                    images, extractS, images / extractS);
            HeadConfig config = HeadConfig.defaults().withEpochs(10);
            HeadTrainer trainer = new HeadTrainer();
            trainer.train(config.withEpochs(1), xTrain, train.labels(), labels, Optional.empty(), "bench", frozen.ref().id()); // warm-up
            TrainedHead head = trainer.train(config, xTrain, train.labels(), labels, Optional.empty(), "bench", frozen.ref().id());
            double headEpochS = head.info().millisPerEpoch() / 1000;
            double before = Evaluator.evaluate(head, xVal, val.labels(), labels).accuracy();
            System.out.printf(Locale.ROOT, "head epoch on %d cached %d-d vectors (%s): %.4f s; validation accuracy %.4f%n",
                    images, xTrain.columns(), config.architecture(), headEpochS, before);

            FineTuneGraph g = FineTuneGraph.build(src, cut, size, unfreezeFrom, head, learningRate, 42);
            // warm-up on one minibatch (JIT, native kernels), not timed
            FineTuner.train(g, new LabelledImages(train.images().subList(0, batchSize), java.util.Arrays.copyOf(train.labels(), batchSize), labels),
                    new FineTuner.Settings(1, batchSize, Augmentation.NONE, 1), FineTuner.Progress.NONE);
            FineTuneGraph timed = FineTuneGraph.build(src, cut, size, unfreezeFrom, head, learningRate, 42);
            try (Progress bar = Progress.bar(System.err, "fine-tune", (long) images * epochs, "images")) {
                FineTuner.Stats stats = FineTuner.train(timed, train, new FineTuner.Settings(epochs, batchSize, Augmentation.NONE, 42),
                        (epoch, done, total, loss, ips) -> bar.update((long) (epoch - 1) * total + done));
                double ftEpochS = stats.secondsPerEpoch();
                double after = FineTuner.evaluate(timed, val, batchSize).accuracy();
                System.out.printf(Locale.ROOT, "fine-tune epoch from %s (%s) on %d images: %.2f s (%.1f images/s), last loss %.4f; validation accuracy %.4f%n",
                        timed.freezePoint().firstTrainable(), unfreezeFrom, images, ftEpochS, stats.imagesPerSecond(),
                        stats.lastLoss(), after);
                double ratio = ftEpochS / headEpochS;
                System.out.printf(Locale.ROOT, "ratio fine-tune epoch / head epoch: %.0fx%n", ratio);
                result.put("head_epoch_s", headEpochS);
                result.put("fine_tune_epoch_s", ftEpochS);
                result.put("ratio", ratio);
                result.put("feature_extraction_s", extractS);
                result.put("fine_tune_images_per_s", stats.imagesPerSecond());
                result.put("freeze_point", timed.freezePoint().firstTrainable());
                result.put("validation_images", validation);
                result.put("validation_accuracy_head", before);
                result.put("validation_accuracy_fine_tuned", after);
                result.put("fine_tune_epochs", epochs);
            }
            if (json != null) {
                Files.writeString(json, Json.toPrettyString(result));
                System.out.println("wrote " + json);
            }
            return 0;
        }

        private INDArray features(BaseNetwork net, LabelledImages data) {
            List<INDArray> parts = new ArrayList<>();
            int step = 32;
            for (int i = 0; i < data.size(); i += step) {
                int m = Math.min(step, data.size() - i);
                float[] buf = new float[m * Resizer.floatsPerImage(size)];
                for (int j = 0; j < m; j++) {
                    Resizer.resizeInto(data.images().get(i + j), size, buf, j * Resizer.floatsPerImage(size));
                }
                parts.add(net.extract(Nd4j.create(buf, new long[] {m, size, size, 3}, 'c')));
            }
            return Nd4j.vstack(parts.toArray(INDArray[]::new));
        }

        private static LabelledImages read(Path imagesFile, Path labelsFile, int limit, List<String> labels) throws Exception {
            IdxReader r = IdxReader.open(imagesFile, labelsFile);
            List<RgbImage> out = new ArrayList<>();
            List<Integer> ys = new ArrayList<>();
            try (IdxReader.Cursor c = r.images(0, limit)) {
                while (c.hasNext()) {
                    IdxReader.Item it = c.next();
                    byte[] rgb = new byte[it.pixels().length * 3];
                    for (int i = 0; i < it.pixels().length; i++) {
                        rgb[3 * i] = it.pixels()[i];
                        rgb[3 * i + 1] = it.pixels()[i];
                        rgb[3 * i + 2] = it.pixels()[i];
                    }
                    out.add(new RgbImage(r.cols(), r.rows(), rgb));
                    ys.add(it.label());
                }
            }
            return new LabelledImages(out, ys.stream().mapToInt(Integer::intValue).toArray(), labels);
        }
    }
}
