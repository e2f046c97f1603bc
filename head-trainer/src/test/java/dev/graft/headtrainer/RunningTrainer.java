package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.kafka.TopicAdmin;
import java.time.Clock;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;

/** A head trainer on its own thread, with what it published and how it ended (broker tests). */
record RunningTrainer(HeadTrainerService service, Thread thread, BlockingQueue<ModelUpdateEvent> published,
                      AtomicReference<Throwable> failure) implements AutoCloseable {
    /** Topics of a fresh embedded broker, created with {@code partitions} partitions; returns its settings. */
    static KafkaSettings topics(KafkaTestCluster kafka, Topics topics, int partitions) {
        KafkaSettings settings = KafkaSettings.of(kafka.bootstrapServers());
        try (Admin admin = settings.admin()) {
            TopicAdmin.ensureTopics(admin, topics, partitions);
        } catch (Exception e) {
            throw new IllegalStateException("creating topics: " + e, e);
        }
        return settings;
    }

    static RunningTrainer start(HeadTrainerOptions options, KafkaSettings settings,
                                java.util.function.IntConsumer beforeCommit) {
        HeadTrainerService s = new HeadTrainerService(options, settings, Clock.systemUTC());
        if (beforeCommit != null) {
            s.beforeCommit(beforeCommit);
        }
        BlockingQueue<ModelUpdateEvent> q = new LinkedBlockingQueue<>();
        s.onPublished(q::add);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                s.run();
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "head-trainer-" + System.nanoTime());
        t.start();
        return new RunningTrainer(s, t, q, failure);
    }

    ModelUpdateEvent next() throws InterruptedException {
        ModelUpdateEvent e = published.poll(120, TimeUnit.SECONDS);
        assertThat(e).as("a version within 120 s (trainer failure: %s)", failure.get()).isNotNull();
        return e;
    }

    @Override
    public void close() throws InterruptedException {
        service.close();
        thread.join(30_000);
        assertThat(thread.isAlive()).isFalse();
        assertThat(failure.get()).isNull();
    }
}

