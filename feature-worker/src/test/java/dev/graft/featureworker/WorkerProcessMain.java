package dev.graft.featureworker;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.contract.Topics;
import dev.graft.common.image.ImageDecoder;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.featureworker.internal.BatchFeaturizer;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.producer.Producer;

/**
 * One feature worker as its own OS process, for {@link FeatureWorkerKillIT}: what {@code graft feature-worker}
 * does (shutdown hook calling {@link FeatureWorker#close()}), without the CLI module.
 *
 * <p>Arguments: bootstrap servers, topic prefix, group id, worker id, cut, input size, batch size, commit delay (ms),
 * and optionally inference lanes (default 1; one base copy each).
 */
public final class WorkerProcessMain {
    private WorkerProcessMain() {}

    public static void main(String[] args) {
        String bootstrap = args[0];
        Topics topics = Topics.withPrefix(args[1]);
        String group = args[2];
        String workerId = args[3];
        String cut = args[4];
        int inputSize = Integer.parseInt(args[5]);
        int batchSize = Integer.parseInt(args[6]);
        long commitDelayMs = Long.parseLong(args[7]);
        int lanes = args.length > 8 ? Integer.parseInt(args[8]) : 1;
        // Short session and transaction timeouts so a killed member's partitions and open transaction are
        // recovered within seconds even when nobody restarts it.
        KafkaSettings settings = KafkaSettings.of(bootstrap)
                .with("session.timeout.ms", "6000")
                .with("heartbeat.interval.ms", "1000")
                .with("transaction.timeout.ms", "10000");
        List<BaseNetwork> copies = new ArrayList<>();
        for (int i = 0; i < lanes; i++) {
            copies.add(BaseNetworks.load("nsfwjs:mobilenet_v2", cut, inputSize, BaseNetworks.defaultCacheDir()));
        }
        try (BaseNetwork base = copies.get(0)) {
            FeatureWorkerOptions options = FeatureWorkerOptions.defaults(topics, group, workerId).withBatchSize(batchSize)
                    .withLanes(lanes);
            KafkaSettings k = settings.with("max.poll.records", String.valueOf(batchSize));
            // As FeatureWorker.create, but the producer announces each commit and holds it briefly, so the
            // test can kill the process while a transaction with sent records is open.
            FeatureWorker worker = new FeatureWorker(options, () -> k.consumer(group),
                    () -> slowCommits(k.transactionalProducer(options.transactionalId()), commitDelayMs),
                    BatchFeaturizer.lanes(copies, new ImageDecoder(), FeatureWorker.maxInFlight(options) + 1, batchSize), null);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                long t0 = System.nanoTime();
                worker.close();
                System.out.printf("[GRAFT-WORKER] %s closed in %d ms after %d images%n", workerId,
                        (System.nanoTime() - t0) / 1_000_000, worker.featurizedCount());
                System.out.flush();
            }, "worker-shutdown"));
            System.out.println("[GRAFT-WORKER] " + workerId + " running, base " + base.ref().id() + ", " + lanes + " lane(s)");
            System.out.flush();
            worker.run();
        }
    }

    /** A producer that prints {@value #COMMIT_MARK} and sleeps before each commit. */
    @SuppressWarnings("unchecked")
    static Producer<byte[], byte[]> slowCommits(Producer<byte[], byte[]> p, long delayMs) {
        return (Producer<byte[], byte[]>) Proxy.newProxyInstance(Producer.class.getClassLoader(),
                new Class<?>[] {Producer.class}, (proxy, method, args) -> {
                    if (method.getName().equals("commitTransaction") && delayMs > 0) {
                        System.out.println(COMMIT_MARK);
                        System.out.flush();
                        Thread.sleep(delayMs);
                    }
                    try {
                        return method.invoke(p, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    static final String COMMIT_MARK = "[GRAFT-TXN] records sent, commit pending";
}
