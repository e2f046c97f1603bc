package dev.graft.app;

import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.progress.Progress;
import dev.graft.producer.ClassFolderSource;
import dev.graft.producer.FilesSource;
import dev.graft.producer.IdxSource;
import dev.graft.producer.ImagePublisher;
import dev.graft.producer.ImageSource;
import dev.graft.producer.PublishSummary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.Producer;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "produce", mixinStandardHelpOptions = true,
        description = "Publish images to the images topic: Fashion-MNIST IDX files, a folder with one sub-folder per class, or single files (unlabelled).")
final class ProduceCommand implements Callable<Integer> {

    @Mixin
    KafkaOptions kafka;

    @Mixin
    ConfigOption config;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--task", required = true, description = "Task the images are labelled for.")
    String task;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--idx", paramLabel = "DIR", description = "Directory with Fashion-MNIST IDX files ({train,t10k}-{images-idx3,labels-idx1}-ubyte.gz).")
        Path idx;

        @Option(names = "--dir", paramLabel = "DIR", description = "Directory with one sub-folder of jpg/png images per class (label = folder name).")
        Path dir;

        @Parameters(paramLabel = "FILE", arity = "1..*", description = "Single image files, published without a label.")
        List<Path> files = new ArrayList<>();
    }

    @Option(names = "--idx-part", defaultValue = "train", description = "With --idx: train (splits assigned by hash) or test (the t10k files, split test) (default: ${DEFAULT-VALUE}).")
    String idxPart;

    @Option(names = "--offset", defaultValue = "0", description = "With --idx: skip the first N images.")
    int offset;

    @Option(names = "--limit", defaultValue = "-1", description = "With --idx: publish at most N images (default: all).")
    int limit;

    @Option(names = "--validation-percent", defaultValue = "10", description = "Share of images assigned to validation by the stable hash of their id (default: ${DEFAULT-VALUE}).")
    double validationPercent;

    @Option(names = "--test-percent", defaultValue = "10", description = "Share assigned to test (default: ${DEFAULT-VALUE}).")
    double testPercent;

    @Override
    public Integer call() throws Exception {
        if (offset < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--offset must be >= 0, got " + offset);
        }
        if (!idxPart.equals("train") && !idxPart.equals("test")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--idx-part must be train or test, got '" + idxPart + "'");
        }
        try (ImageSource images = openSource()) {
            System.err.println("source: " + images.describe());
            KafkaSettings settings = kafka.connect();
            try (Producer<byte[], byte[]> producer = settings.imageProducer()) {
                PublishSummary summary = publish(producer, images);
                System.out.println(summary);
            }
        }
        return 0;
    }

    PublishSummary publish(Producer<byte[], byte[]> producer, ImageSource images) {
        ImagePublisher publisher = new ImagePublisher(producer, kafka.topics().images(), validationPercent, testPercent);
        try (Progress bar = Progress.bar(System.err, "publishing", images.expectedCount(), "img")) {
            return publisher.publish(task, images, p -> bar.update(p.acknowledged()));
        }
    }

    private ImageSource openSource() throws java.io.IOException {
        if (source.idx != null) {
            requireDir(source.idx, "--idx");
            return IdxSource.fashionMnist(source.idx, idxPart, offset, limit < 0 ? Integer.MAX_VALUE : limit);
        }
        if (source.dir != null) {
            requireDir(source.dir, "--dir");
            return new ClassFolderSource(source.dir);
        }
        return new FilesSource(source.files);
    }

    private void requireDir(Path p, String flag) {
        if (!Files.isDirectory(p)) {
            throw new CommandLine.ParameterException(spec.commandLine(), flag + ": no such directory: " + p);
        }
    }
}
