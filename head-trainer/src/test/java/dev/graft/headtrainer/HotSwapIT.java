package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Split;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import dev.graft.common.kafka.TopicAdmin;
import dev.graft.common.model.ModelRegistry;
import dev.graft.common.serving.HeadArtifact;
import dev.graft.common.serving.ServingClient;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.Producer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link ServingClient} on a real broker: four threads classify continuously while versions are
 * published, promoted, rolled back, and one version's artifact cannot be loaded. Each version's head
 * has its own label names ("v3-c0", ...), so an answer shows which head produced it, and must match the
 * version the call was told it ran on.
 */
class HotSwapIT {
    static final String TASK = "hot-swap";
    static final int DIM = 16;
    static final int K = 3;

    record Answer(int version, String label) {}

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void callsNeverFailAndNameTheVersionThatAnswered() throws Exception {
        Topics topics = Topics.defaults();
        try (KafkaTestCluster kafka = KafkaTestCluster.start()) {
            KafkaSettings settings = KafkaSettings.of(kafka.bootstrapServers());
            try (Admin admin = settings.admin()) {
                TopicAdmin.ensureTopics(admin, topics, 1);
            }
            ModelRegistry registry = new ModelRegistry(topics, () -> settings.consumer(null));
            Random r = new Random(3);
            VectorStore data = new VectorStore(TASK, "synthetic-" + DIM, DIM);
            Blobs.fill(data, r, 0, K, K, 50, Split.TRAIN, "x");
            VectorStore.SplitData train = data.train();
            float[] probe = Blobs.vector(r, 1, K, DIM, 3.0, DIM / 10);

            try (Producer<byte[], byte[]> p = settings.transactionalProducer("hot-swap-test")) {
                Publisher pub = new Publisher(p, registry, train);
                pub.version(1, true, false);
                try (ServingClient<HeadArtifact> client = ServingClient.heads(registry, TASK, ServingClient.Target.serving());
                     ServingClient<HeadArtifact> pinned = ServingClient.heads(registry, TASK, ServingClient.Target.pinned(1))) {
                    BlockingQueue<Integer> switches = new LinkedBlockingQueue<>();
                    BlockingQueue<Integer> loadFailures = new LinkedBlockingQueue<>();
                    client.onSwitch((before, after) -> switches.add(after.version()));
                    client.onLoadFailure((v, e) -> loadFailures.add(v.version()));
                    assertThat(client.awaitReady(Duration.ofSeconds(60))).isTrue();
                    assertThat(switches.poll(5, TimeUnit.SECONDS)).isEqualTo(1);

                    AtomicBoolean stop = new AtomicBoolean();
                    Map<Integer, AtomicLong> answers = new ConcurrentHashMap<>();
                    List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
                    List<String> mismatches = new java.util.concurrent.CopyOnWriteArrayList<>();
                    List<Thread> callers = new ArrayList<>();
                    for (int i = 0; i < 4; i++) {
                        Thread t = new Thread(() -> {
                            while (!stop.get()) {
                                try {
                                    Answer a = client.call((v, head) -> {
                                        float[] probs = head.predict(probe);
                                        int best = 0;
                                        for (int k = 1; k < probs.length; k++) {
                                            best = probs[k] > probs[best] ? k : best;
                                        }
                                        return new Answer(v.version(), head.labels().get(best));
                                    });
                                    answers.computeIfAbsent(a.version(), v -> new AtomicLong()).incrementAndGet();
                                    if (!a.label().startsWith("v" + a.version() + "-")) {
                                        mismatches.add(a.toString());
                                    }
                                } catch (Throwable e) {
                                    failures.add(e);
                                }
                            }
                        }, "caller-" + i);
                        t.start();
                        callers.add(t);
                    }

                    pub.version(2, true, false);
                    assertThat(switches.poll(60, TimeUnit.SECONDS)).isEqualTo(2);
                    pub.version(3, true, false);
                    assertThat(switches.poll(60, TimeUnit.SECONDS)).isEqualTo(3);
                    pub.alias(2, ModelUpdateEvent.REASON_ROLLBACK);
                    assertThat(switches.poll(60, TimeUnit.SECONDS)).as("rolled back").isEqualTo(2);
                    pub.version(4, true, true); // promoted, but its artifact is not a head
                    assertThat(loadFailures.poll(60, TimeUnit.SECONDS)).isEqualTo(4);
                    Thread.sleep(500);
                    assertThat(client.current().orElseThrow().version()).as("v2 keeps serving").isEqualTo(2);
                    pub.version(5, true, false);
                    assertThat(switches.poll(60, TimeUnit.SECONDS)).isEqualTo(5);
                    Thread.sleep(500);
                    stop.set(true);
                    for (Thread t : callers) {
                        t.join(10_000);
                    }
                    long total = answers.values().stream().mapToLong(AtomicLong::get).sum();
                    System.out.printf("HOTSWAP %d calls from 4 threads, by version %s, failures %d, mismatches %d%n",
                            total, answers, failures.size(), mismatches.size());
                    assertThat(failures).isEmpty();
                    assertThat(mismatches).isEmpty();
                    assertThat(answers.keySet()).containsExactlyInAnyOrder(1, 2, 3, 5);
                    assertThat(switches).isEmpty();
                    assertThat(pinned.current().orElseThrow().version()).as("pinned client stays").isEqualTo(1);
                }
            }
        }
    }

    /** Publishes versions (artifact + event + aliases) in one transaction each, as the head trainer does. */
    private record Publisher(Producer<byte[], byte[]> p, ModelRegistry registry, VectorStore.SplitData train) {
        void version(int v, boolean promote, boolean broken) {
            List<String> labels = List.of("v" + v + "-c0", "v" + v + "-c1", "v" + v + "-c2");
            byte[] artifact;
            if (broken) {
                artifact = ("not a head " + v).getBytes();
            } else {
                TrainedHead head = new HeadTrainer().train(HeadConfig.defaults().withHiddenUnits(0).withEpochs(3),
                        train.features(), train.labels(), labels, Optional.empty(), TASK, "synthetic-" + DIM);
                artifact = head.toBytes();
            }
            ModelUpdateEvent draft = new ModelUpdateEvent(ModelUpdateEvent.VERSION_PUBLISHED, TASK, v, Instant.now(),
                    new BaseRef("synthetic-" + DIM, "synthetic", "none", 0, DIM, "none"), labels,
                    new ModelUpdateEvent.Metrics(0.9, 0.3, 10, train.size(), Map.of(), new int[0][]),
                    new ModelUpdateEvent.Lineage(Map.of(), Map.of(), "test", v == 1 ? null : v - 1), null);
            p.beginTransaction();
            registry.publish(p, draft, artifact, TrainedHead.FORMAT);
            registry.setAlias(p, TASK, ModelUpdateEvent.LATEST, v, ModelUpdateEvent.REASON_PUBLISHED, Instant.now());
            if (promote) {
                registry.setAlias(p, TASK, ModelUpdateEvent.SERVING, v, ModelUpdateEvent.REASON_PROMOTED, Instant.now());
            }
            p.commitTransaction();
        }

        void alias(int v, String reason) {
            p.beginTransaction();
            registry.setAlias(p, TASK, ModelUpdateEvent.SERVING, v, reason, Instant.now());
            p.commitTransaction();
        }
    }
}
