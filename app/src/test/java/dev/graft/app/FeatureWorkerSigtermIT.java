package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.contract.ImageHeaders;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.common.kafka.KafkaTestCluster;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `graft feature-worker` as its own process, busy with images, stops on SIGTERM within 30 s (its shutdown
 * hook closes the worker) and leaves no transaction open.
 */
class FeatureWorkerSigtermIT {

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void busyFeatureWorkerExitsWithin30sOfSigtermWithNoOpenTransaction(@TempDir Path tmp) throws Exception {
        try (KafkaTestCluster kafka = KafkaTestCluster.start()) {
            KafkaSettings settings = kafka.settings();
            Topics topics = Topics.defaults();
            Path log = tmp.resolve("worker.log");
            String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            ProcessBuilder pb = new ProcessBuilder(List.of(java, "-Xmx512m", "-XX:+IgnoreUnrecognizedVMOptions",
                    "--add-opens=java.base/java.nio=ALL-UNNAMED", "-cp", cp, GraftCli.class.getName(), "feature-worker",
                    "--bootstrap-servers", kafka.bootstrapServers(), "--partitions", "2", "--cut", "block_2_add",
                    "--input-size", "32", "--worker-id", "sigterm-0"))
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().put("GRAFT_LOG_LEVEL", "INFO");
            pb.environment().put("OMP_NUM_THREADS", "1");
            Process worker = pb.start();
            try {
                // Keep it busy: images keep arriving until SIGTERM.
                Random rnd = new Random(1);
                try (Producer<byte[], byte[]> p = settings.producer()) {
                    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
                    int i = 0;
                    while (featureRecords(settings, topics) < 5) {
                        assertThat(System.nanoTime()).as("features appear; log:%n%s", read(log)).isLessThan(deadline);
                        assertThat(worker.isAlive()).as("worker alive; log:%n%s", read(log)).isTrue();
                        for (int k = 0; k < 40; k++, i++) {
                            ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topics.images(),
                                    ("img-" + i).getBytes(), png(rnd));
                            ImageHeaders.put(r.headers(), ImageHeaders.TASK, "sigterm");
                            p.send(r);
                        }
                        p.flush();
                        Thread.sleep(500);
                    }
                    for (int k = 0; k < 200; k++, i++) { // a backlog, so SIGTERM lands mid-work
                        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topics.images(), ("img-" + i).getBytes(), png(rnd));
                        ImageHeaders.put(r.headers(), ImageHeaders.TASK, "sigterm");
                        p.send(r);
                    }
                }
                long t0 = System.nanoTime();
                worker.destroy(); // SIGTERM
                boolean exited = worker.waitFor(40, TimeUnit.SECONDS);
                long ms = (System.nanoTime() - t0) / 1_000_000;
                System.out.printf("[GRAFT-MEASURE] graft feature-worker exited %d ms after SIGTERM (exit code %s)%n", ms,
                        exited ? worker.exitValue() : "none");
                assertThat(exited).as("exits; log:%n%s", read(log)).isTrue();
                assertThat(ms).isLessThan(30_000);
                assertThat(read(log)).as("--queued-images auto at 32 px: 77 MB of pixels, capped")
                        .contains(", 4096 queued images");
                try (Admin admin = settings.admin()) {
                    assertThat(admin.listTransactions(new ListTransactionsOptions()
                            .filterStates(List.of(TransactionState.ONGOING))).all().get()).isEmpty();
                }
            } finally {
                worker.destroyForcibly();
            }
        }
    }

    private static long featureRecords(KafkaSettings settings, Topics topics) throws Exception {
        try (Admin admin = settings.admin()) {
            if (!admin.listTopics().names().get().contains(topics.features())) {
                return 0;
            }
            List<TopicPartition> tps = new ArrayList<>();
            admin.describeTopics(List.of(topics.features())).allTopicNames().get().get(topics.features()).partitions()
                    .forEach(p -> tps.add(new TopicPartition(topics.features(), p.partition())));
            var spec = new java.util.HashMap<TopicPartition, OffsetSpec>();
            tps.forEach(tp -> spec.put(tp, OffsetSpec.latest()));
            return admin.listOffsets(spec, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all()
                    .get(10, TimeUnit.SECONDS).values().stream().mapToLong(o -> o.offset()).sum();
        }
    }

    private static byte[] png(Random rnd) throws Exception {
        BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                img.getRaster().setSample(x, y, 0, rnd.nextInt(256));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }
}
