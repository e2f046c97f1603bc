package dev.graft.app;

import dev.graft.common.contract.RetrainRequest;
import dev.graft.common.json.Json;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.finetune.Augmentation;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "retrain", mixinStandardHelpOptions = true,
        description = "Ask the fine-tune workers to fine-tune the upper base layers of a task (publishes a retrain request and prints its id).")
final class RetrainCommand implements Callable<Integer> {

    @Mixin
    KafkaOptions kafka;

    @Mixin
    ConfigOption config;

    @Spec
    CommandSpec spec;

    @Option(names = "--task", required = true, description = "Task to fine-tune (its serving version's base and head are the start).")
    String task;

    @Option(names = "--unfreeze-from", defaultValue = "last 2 blocks",
            description = "First layer to train, or 'last N blocks' (block = MobileNetV2's block_K_* layers) (default: ${DEFAULT-VALUE}).")
    String unfreezeFrom;

    @Option(names = "--epochs", defaultValue = "3", description = "Epochs over the task's train images (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--learning-rate", defaultValue = "1e-4", description = "Adam learning rate; keep it low (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(names = "--batch-size", defaultValue = "16", description = "Images per minibatch (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--augment", defaultValue = "", paramLabel = "flip,crop",
            description = "Augmentation of the train images: flip, crop, both comma-separated, or empty (default: none).")
    String augment;

    @Option(names = "--reason", defaultValue = "manual request", description = "Why (recorded in the lineage) (default: ${DEFAULT-VALUE}).")
    String reason;

    @Override
    public Integer call() throws Exception {
        if (task.isBlank()) throw new ParameterException(spec.commandLine(), "--task must not be blank");
        if (unfreezeFrom.isBlank()) throw new ParameterException(spec.commandLine(), "--unfreeze-from must not be blank");
        if (epochs < 1) throw new ParameterException(spec.commandLine(), "--epochs must be >= 1, got " + epochs);
        if (!(learningRate > 0)) throw new ParameterException(spec.commandLine(), "--learning-rate must be > 0, got " + learningRate);
        if (batchSize < 1) throw new ParameterException(spec.commandLine(), "--batch-size must be >= 1, got " + batchSize);
        try {
            Augmentation.parse(augment);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--augment: " + e.getMessage());
        }
        RetrainRequest q = new RetrainRequest(UUID.randomUUID().toString(), task, unfreezeFrom.trim(), epochs,
                learningRate, batchSize, augment.trim(), reason, Instant.now());
        KafkaSettings settings = kafka.connect();
        try (KafkaProducer<byte[], byte[]> p = settings.producer()) {
            p.send(new ProducerRecord<>(kafka.topics().retrainRequests(), task.getBytes(StandardCharsets.UTF_8),
                    Json.toBytes(q))).get();
        }
        System.out.println(q.requestId());
        return 0;
    }
}
