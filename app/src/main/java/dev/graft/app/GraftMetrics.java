package dev.graft.app;

import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.model.AliasWatcher;
import dev.graft.common.model.ModelRegistry;
import dev.graft.featureworker.FeatureWorker;
import dev.graft.headtrainer.HeadTrainerService;
import dev.graft.headtrainer.predict.PredictWorker;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntSupplier;

/**
 * Graft's own meters (README, "Metrics"). Names are Micrometer's; Prometheus sees dots as underscores,
 * counters with {@code _total} and timers in seconds.
 */
public final class GraftMetrics {
    private GraftMetrics() {}

    /** Images featurized (rate = images/s), dead letters, batches, and the latency of a batch's forward pass + transaction. */
    public static void bindFeatureWorker(MeterRegistry registry, FeatureWorker worker, String workerId) {
        FunctionCounter.builder("graft.images.featurized", worker, FeatureWorker::featurizedCount)
                .description("Images featurized and committed (rate() is images/s)").tag("worker", workerId).register(registry);
        FunctionCounter.builder("graft.dead.letters", worker, FeatureWorker::deadLetterCount)
                .description("Images sent to the dead-letter topic").tag("worker", workerId).register(registry);
        FunctionCounter.builder("graft.feature.batches", worker, FeatureWorker::batchCount)
                .description("Feature batches committed (one transaction each)").tag("worker", workerId).register(registry);
        Timer latency = Timer.builder("graft.feature.batch.latency")
                .description("Featurizing a batch and committing its transaction")
                .tag("worker", workerId)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(10))
                .maximumExpectedValue(Duration.ofMinutes(2))
                .register(registry);
        worker.onBatch((featurized, deadLettered, nanos) -> latency.record(nanos, TimeUnit.NANOSECONDS));
    }

    /** Versions published, training time, and the newest version and its validation accuracy, per task. */
    public static void bindHeadTrainer(MeterRegistry registry, HeadTrainerService trainer, String task) {
        Timer training = Timer.builder("graft.training.time")
                .description("Training, evaluating and publishing one version").tag("task", task).register(registry);
        VersionListener versions = versionListener(registry, task);
        trainer.onPublished(e -> {
            training.record(trainer.lastTrainingTime());
            versions.published(e);
        });
    }

    /** Counts versions and tracks the newest one of a task; call {@link VersionListener#published} per version event. */
    public static VersionListener versionListener(MeterRegistry registry, String task) {
        Counter published = Counter.builder("graft.versions.published")
                .description("Classifier versions published by this process").tag("task", task).register(registry);
        AtomicInteger latest = new AtomicInteger();
        AtomicReference<Double> accuracy = new AtomicReference<>(Double.NaN);
        Gauge.builder("graft.model.latest.version", latest, AtomicInteger::get)
                .description("Newest published version of the task (0: none yet)").tag("task", task).register(registry);
        Gauge.builder("graft.model.validation.accuracy", accuracy, AtomicReference::get)
                .description("Validation accuracy of the newest version").tag("task", task).register(registry);
        return e -> {
            published.increment();
            latest.accumulateAndGet(e.version(), Math::max);
            if (e.version() >= latest.get()) {
                accuracy.set(e.metrics().validationAccuracy());
            }
        };
    }

    /** Predictions committed, rows skipped by reason, dead letters, and the version predicting now. */
    public static void bindPredictWorker(MeterRegistry registry, PredictWorker worker, String task) {
        FunctionCounter.builder("graft.predictions", worker, PredictWorker::predictedCount)
                .description("Predictions committed to the predictions topic").tag("task", task).register(registry);
        FunctionCounter.builder("graft.predictions.skipped", worker, PredictWorker::labelledSkipped)
                .description("Feature rows of the task not predicted").tags("task", task, "reason", "labelled").register(registry);
        FunctionCounter.builder("graft.predictions.skipped", worker, PredictWorker::otherBaseSkipped)
                .description("Feature rows of the task not predicted").tags("task", task, "reason", "other-base").register(registry);
        FunctionCounter.builder("graft.dead.letters", worker, PredictWorker::deadLetterCount)
                .description("Records sent to the dead-letter topic").tag("worker", "predict/" + task).register(registry);
        servingVersion(registry, task, () -> worker.servingVersion().orElse(0));
    }

    /** {@code graft_serving_version{task}}: the version the process serves or sees serving (0: none yet). */
    public static void servingVersion(MeterRegistry registry, String task, IntSupplier version) {
        // strong reference: the supplier is a lambda nothing else holds; a weakly held gauge would read NaN after a GC
        Gauge.builder("graft.serving.version", version, v -> v.getAsInt()).strongReference(true)
                .description("Version of the task serving now (0: none yet)").tag("task", task).register(registry);
    }

    /**
     * The serving-version gauge of a process that does not load models (head trainer, demo): follows the task's
     * aliases on the model-updates topic. Close the returned watcher when the process stops.
     */
    public static AliasWatcher watchServingVersion(MeterRegistry registry, ModelRegistry models, String task) {
        AliasWatcher watcher = AliasWatcher.start(models, task);
        servingVersion(registry, task, () -> watcher.serving().orElse(0));
        return watcher;
    }

    @FunctionalInterface
    public interface VersionListener {
        void published(ModelUpdateEvent e);
    }
}
