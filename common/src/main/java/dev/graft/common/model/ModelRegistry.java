package dev.graft.common.model;

import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.ModelUpdateEvent.ArtifactRef;
import dev.graft.common.contract.Topics;
import dev.graft.common.json.Json;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads and writes model versions on Kafka: events on the model-updates topic, artifacts in chunks on
 * the model-artifacts topic. Head versions ({@code version-published}, artifact key {@code TASK/vN}) and
 * base versions ({@code base-published}, key {@code TASK/bN}) are published and fetched the same way. Writers call {@link #publish} inside an open transaction, so the artifact
 * and its event become visible together to {@code read_committed} readers, or not at all.
 */
public final class ModelRegistry {
    private static final Logger log = LoggerFactory.getLogger(ModelRegistry.class);
    private static final Duration POLL = Duration.ofMillis(200);
    /** How long {@link #fetch} waits for the end of the artifact partition to reach all chunks. */
    private static final Duration FETCH_PATIENCE = Duration.ofSeconds(10);

    private final Topics topics;
    private final Supplier<Consumer<byte[], byte[]>> consumers;

    /** @param consumers makes {@code read_committed} consumers without a group (assign/seek only) */
    public ModelRegistry(Topics topics, Supplier<Consumer<byte[], byte[]>> consumers) {
        this.topics = topics;
        this.consumers = consumers;
    }

    /**
     * Writes the artifact chunks, then the event, with {@code producer} inside its current transaction.
     * Returns the event as published (with its artifact reference filled in).
     */
    public ModelUpdateEvent publish(Producer<byte[], byte[]> producer, ModelUpdateEvent draft, byte[] artifact,
                                    String format) {
        String key = artifactKey(draft);
        String sha = Sha256.hex(artifact);
        List<byte[]> chunks = ArtifactChunks.split(artifact, Topics.ARTIFACT_CHUNK_BYTES);
        byte[] keyBytes = key.getBytes(StandardCharsets.UTF_8);
        RecordMetadata first = null;
        Integer partition = null;
        for (int i = 0; i < chunks.size(); i++) {
            ProducerRecord<byte[], byte[]> rec = new ProducerRecord<>(topics.modelArtifacts(), partition, keyBytes, chunks.get(i));
            rec.headers().add(ArtifactChunks.CHUNK, ArtifactChunks.chunkHeader(i, chunks.size()));
            rec.headers().add(ArtifactChunks.SHA256, sha.getBytes(StandardCharsets.UTF_8));
            rec.headers().add(ArtifactChunks.FORMAT, format.getBytes(StandardCharsets.UTF_8));
            try {
                RecordMetadata md = producer.send(rec).get();
                if (first == null) {
                    first = md;
                    partition = md.partition();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KafkaException("interrupted while writing artifact " + key, e);
            } catch (ExecutionException e) {
                throw e.getCause() instanceof KafkaException ke ? ke
                        : new KafkaException("writing artifact " + key + " failed", e.getCause());
            }
        }
        ArtifactChunks.Location loc = new ArtifactChunks.Location(topics.modelArtifacts(), first.partition(), first.offset(), chunks.size());
        ModelUpdateEvent event = new ModelUpdateEvent(draft.type(), draft.task(), draft.version(), draft.createdAt(),
                draft.base(), draft.labels(), draft.metrics(), draft.lineage(),
                new ArtifactRef(loc.uri(), sha, artifact.length, format));
        producer.send(new ProducerRecord<>(topics.modelUpdates(), draft.task().getBytes(StandardCharsets.UTF_8),
                Json.toBytes(event)));
        return event;
    }

    /** Artifact record key: {@code TASK/bN} for a base version, {@code TASK/vN} for a head version. */
    static String artifactKey(ModelUpdateEvent e) {
        return e.task() + (e.publishesBase() ? "/b" : "/v") + e.version();
    }

    /** The task's published base versions ({@code base-published} events), by base version number. */
    public List<ModelUpdateEvent> bases(String task) {
        return events(task).stream().filter(ModelUpdateEvent::publishesBase)
                .sorted(Comparator.comparing(ModelUpdateEvent::task).thenComparingInt(ModelUpdateEvent::version))
                .toList();
    }

    /** The task's newest base version. */
    public Optional<ModelUpdateEvent> latestBase(String task) {
        return events(task).stream().filter(ModelUpdateEvent::publishesBase)
                .max(Comparator.comparingInt(ModelUpdateEvent::version));
    }

    /** Base version {@code version} of {@code task}. */
    public Optional<ModelUpdateEvent> base(String task, int version) {
        return events(task).stream().filter(e -> e.publishesBase() && e.version() == version).findFirst();
    }

    /**
     * Every committed event of {@code task} (all tasks if null), grouped by task, each task's in log order
     * (one task's events share a partition, so this is the order they were written in).
     */
    public List<ModelUpdateEvent> events(String task) {
        List<ModelUpdateEvent> out = new ArrayList<>();
        try (Consumer<byte[], byte[]> c = consumers.get()) {
            List<TopicPartition> parts = c.partitionsFor(topics.modelUpdates(), Duration.ofSeconds(10)).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            while (!caughtUp(c, end)) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(POLL)) {
                    ModelUpdateEvent e = parse(r);
                    if (e != null && (task == null || task.equals(e.task()))) {
                        out.add(e);
                    }
                }
            }
        }
        out.sort(Comparator.comparing(ModelUpdateEvent::task)); // stable: keeps each task's log order
        return out;
    }

    /** Parses a model-updates record; null (logged) if unreadable. */
    public static ModelUpdateEvent parse(ConsumerRecord<byte[], byte[]> r) {
        try {
            return Json.fromBytes(r.value(), ModelUpdateEvent.class);
        } catch (RuntimeException ex) {
            log.warn("skipping unreadable model-update event at {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), ex.getMessage());
            return null;
        }
    }

    /** The published versions of a task, by version number. */
    public List<ModelUpdateEvent> versions(String task) {
        return versionsOf(events(task));
    }

    static List<ModelUpdateEvent> versionsOf(List<ModelUpdateEvent> events) {
        return events.stream().filter(ModelUpdateEvent::publishesVersion)
                .sorted(Comparator.comparing(ModelUpdateEvent::task).thenComparingInt(ModelUpdateEvent::version))
                .toList();
    }

    /** The newest published version of a task. */
    public Optional<ModelUpdateEvent> latest(String task) {
        return events(task).stream()
                .filter(ModelUpdateEvent::publishesVersion)
                .max(Comparator.comparingInt(ModelUpdateEvent::version));
    }

    /** The task's aliases ({@code latest}, {@code serving}), replayed from its alias-set events. */
    public Aliases aliases(String task) {
        return Aliases.replay(events(task));
    }

    /** A task's versions and aliases from one read of the topic. */
    public record TaskState(List<ModelUpdateEvent> versions, Aliases aliases) {
        public Optional<ModelUpdateEvent> version(int v) {
            return versions.stream().filter(e -> e.version() == v).findFirst();
        }

        /** The version an alias names, if both exist. */
        public Optional<ModelUpdateEvent> resolve(String alias) {
            var v = aliases.get(alias);
            return v.isPresent() ? version(v.getAsInt()) : Optional.empty();
        }
    }

    public TaskState state(String task) {
        List<ModelUpdateEvent> all = events(task);
        return new TaskState(versionsOf(all), Aliases.replay(all));
    }

    /**
     * Writes an alias-set event with {@code producer} (inside its open transaction if it is transactional;
     * a plain producer's send is waited for). The caller checks that the version exists.
     */
    public ModelUpdateEvent setAlias(Producer<byte[], byte[]> producer, String task, String alias, int version,
                                     String reason, java.time.Instant at) {
        ModelUpdateEvent e = ModelUpdateEvent.aliasSet(task, alias, version, reason, at);
        try {
            producer.send(new ProducerRecord<>(topics.modelUpdates(), task.getBytes(StandardCharsets.UTF_8),
                    Json.toBytes(e))).get();
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new KafkaException("interrupted while setting alias " + alias + " of " + task, ie);
        } catch (ExecutionException ee) {
            throw ee.getCause() instanceof KafkaException ke ? ke
                    : new KafkaException("setting alias " + alias + " of " + task + " failed", ee.getCause());
        }
        return e;
    }

    /**
     * Tails the model-updates topic from the beginning: each {@link Follower#poll} returns the task's
     * events committed since the previous one, in log order. One thread; {@link Follower#wakeup} from any.
     */
    public Follower follow(String task) {
        return new Follower(task, consumers.get());
    }

    public final class Follower implements AutoCloseable {
        private final String task;
        private final Consumer<byte[], byte[]> consumer;

        private Follower(String task, Consumer<byte[], byte[]> consumer) {
            this.task = task;
            this.consumer = consumer;
            List<TopicPartition> parts = consumer.partitionsFor(topics.modelUpdates(), Duration.ofSeconds(10)).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
        }

        /** New events of the task (possibly none), waiting at most {@code timeout}. */
        public List<ModelUpdateEvent> poll(Duration timeout) {
            List<ModelUpdateEvent> out = new ArrayList<>();
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(timeout)) {
                ModelUpdateEvent e = parse(r);
                if (e != null && task.equals(e.task())) {
                    out.add(e);
                }
            }
            return out;
        }

        /** Makes a blocked {@link #poll} throw {@code WakeupException}. */
        public void wakeup() {
            consumer.wakeup();
        }

        @Override
        public void close() {
            consumer.close();
        }
    }

    /** Fetches an artifact by its reference and verifies its sha256. */
    public byte[] fetch(ArtifactRef ref) {
        ArtifactChunks.Location loc = ArtifactChunks.Location.parse(ref.uri());
        TopicPartition tp = new TopicPartition(loc.topic(), loc.partition());
        ArtifactChunks.Assembler assembler = new ArtifactChunks.Assembler(loc.chunks());
        try (Consumer<byte[], byte[]> c = consumers.get()) {
            c.assign(List.of(tp));
            c.seek(tp, loc.offset());
            long end = c.endOffsets(List.of(tp)).get(tp);
            long deadline = System.nanoTime() + FETCH_PATIENCE.toNanos();
            while (!assembler.complete()) {
                if (c.position(tp) >= end) {
                    // the read_committed end (last stable offset) can lag a just-committed transaction briefly
                    end = c.endOffsets(List.of(tp)).get(tp);
                    if (c.position(tp) >= end && System.nanoTime() > deadline) {
                        throw new IllegalStateException("artifact " + ref.uri() + " is incomplete: reached the end of "
                                + tp + " before all " + loc.chunks() + " chunks");
                    }
                }
                ConsumerRecords<byte[], byte[]> recs = c.poll(POLL);
                for (ConsumerRecord<byte[], byte[]> r : recs) {
                    Header chunk = r.headers().lastHeader(ArtifactChunks.CHUNK);
                    Header sha = r.headers().lastHeader(ArtifactChunks.SHA256);
                    if (chunk != null && sha != null && ref.sha256().equals(new String(sha.value(), StandardCharsets.UTF_8))) {
                        assembler.add(new String(chunk.value(), StandardCharsets.UTF_8), r.value());
                    }
                }
            }
        }
        return assembler.bytes(ref);
    }

    private static boolean caughtUp(Consumer<byte[], byte[]> c, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (c.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }
}
