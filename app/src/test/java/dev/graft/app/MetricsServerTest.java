package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import dev.graft.featureworker.FeatureWorker;
import dev.graft.featureworker.FeatureWorkerOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The Prometheus endpoint over real HTTP on localhost: Graft's meters, JVM meters, and the health check. */
@Timeout(30)
class MetricsServerTest {

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private HttpResponse<String> get(MetricsServer server, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesGraftMetricsAndHealth() throws Exception {
        try (MetricsServer server = MetricsServer.start(0, "test")) {
            FeatureWorker worker = new FeatureWorker(FeatureWorkerOptions.defaults(Topics.defaults(), "g", "w-1"), null, null, null);
            GraftMetrics.bindFeatureWorker(server.registry(), worker, "w-1");
            GraftMetrics.VersionListener versions = GraftMetrics.versionListener(server.registry(), "fashion");
            TestEvents.threeVersions("fashion").forEach(versions::published);
            server.registry().timer("graft.feature.batch.latency", "worker", "w-1").record(Duration.ofMillis(250));

            HttpResponse<String> metrics = get(server, "/metrics");
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/plain"));
            assertThat(metrics.body())
                    .contains("graft_images_featurized_total{role=\"test\",worker=\"w-1\"} 0.0")
                    .contains("graft_dead_letters_total{role=\"test\",worker=\"w-1\"} 0.0")
                    .contains("graft_feature_batches_total{role=\"test\",worker=\"w-1\"} 0.0")
                    .contains("graft_feature_batch_latency_seconds_count{role=\"test\",worker=\"w-1\"} 1")
                    .contains("graft_feature_batch_latency_seconds_bucket{")
                    .contains("graft_versions_published_total{role=\"test\",task=\"fashion\"} 3.0")
                    .contains("graft_model_latest_version{role=\"test\",task=\"fashion\"} 3.0")
                    .contains("graft_model_validation_accuracy{role=\"test\",task=\"fashion\"} 0.86")
                    .contains("jvm_memory_used_bytes");

            AtomicBoolean up = new AtomicBoolean(true);
            server.health(up::get);
            HttpResponse<String> health = get(server, "/health");
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(health.body()).contains("\"UP\"");
            up.set(false);
            assertThat(get(server, "/health").statusCode()).isEqualTo(503);
        }
    }

    @Test
    void kafkaClientMetricsComeAndGoWithTheClients() throws Exception {
        try (MetricsServer server = MetricsServer.start(0, "test")) {
            // nothing listens there: constructing clients does not connect, and their metrics exist from the start
            KafkaSettings settings = KafkaMetricsBridge.install(KafkaSettings.of("127.0.0.1:1"), server.registry());
            assertThat(settings.consumerConfig("g").get("metric.reporters").toString()).contains("JmxReporter", "KafkaMetricsBridge");
            try (Consumer<byte[], byte[]> c = settings.consumer("g");
                 Producer<byte[], byte[]> p = settings.producer()) {
                String body = get(server, "/metrics").body();
                assertThat(body).contains("kafka_consumer_records_lag_max{client_id=\"")
                        .contains("kafka_consumer_records_consumed_rate{client_id=\"")
                        .contains("kafka_producer_record_send_rate{client_id=\"")
                        .contains("kafka_producer_record_error_rate{client_id=\"");
            }
            assertThat(get(server, "/metrics").body()).doesNotContain("kafka_consumer_records_lag_max{", "kafka_producer_record_send_rate{");
        }
    }

    @Test
    void healthIsUpWhileTheRoleLoopRunsAndDownOnceItReturned() throws Exception {
        try (MetricsServer server = MetricsServer.start(0, "test")) {
            int[] during = new int[1];
            MetricsServer.runHealthy(server, () -> {
                try {
                    during[0] = get(server, "/health").statusCode();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertThat(during[0]).isEqualTo(200);
            HttpResponse<String> after = get(server, "/health");
            assertThat(after.statusCode()).isEqualTo(503);
            assertThat(after.body()).contains("\"DOWN\"");
        }
    }

    @Test
    void healthIsDownAndTheFailurePassesOnWhenTheRoleLoopThrows() throws Exception {
        try (MetricsServer server = MetricsServer.start(0, "test")) {
            assertThatThrownBy(() -> MetricsServer.runHealthy(server, () -> {
                throw new IllegalStateException("broker gone");
            })).isInstanceOf(IllegalStateException.class).hasMessage("broker gone");
            assertThat(get(server, "/health").statusCode()).isEqualTo(503);
        }
    }

    @Test
    void withoutAServerTheRoleLoopJustRuns() {
        boolean[] ran = new boolean[1];
        MetricsServer.runHealthy(null, () -> ran[0] = true);
        assertThat(ran[0]).isTrue();
    }
}
