package dev.graft.app;

import dev.graft.common.kafka.KafkaSettings;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.JmxReporter;
import org.apache.kafka.common.metrics.KafkaMetric;
import org.apache.kafka.common.metrics.MetricsReporter;

/**
 * A few Kafka client metrics as Micrometer gauges, through the clients' own {@code metric.reporters} hook, so
 * every consumer and producer a role creates from its {@link KafkaSettings} reports without the roles knowing:
 * consumer lag (per partition, and the client's maximum), records consumed and sent per second, send errors.
 * One registry per process (set by {@link #install}).
 */
public final class KafkaMetricsBridge implements MetricsReporter {
    private static volatile MeterRegistry registry;

    /** Kafka (group:name) → meter name, and the tag keys the metric must have (the same name exists at several levels). */
    private record Selected(String meter, Set<String> tagKeys, String description) {}

    private static final Map<String, Selected> SELECTED = Map.of(
            "consumer-fetch-manager-metrics:records-lag-max", new Selected("kafka.consumer.records.lag.max",
                    Set.of("client-id"), "Largest lag in records of any partition of this consumer"),
            "consumer-fetch-manager-metrics:records-lag", new Selected("kafka.consumer.records.lag",
                    Set.of("client-id", "topic", "partition"), "Lag in records of a partition (consumer lag)"),
            "consumer-fetch-manager-metrics:records-consumed-rate", new Selected("kafka.consumer.records.consumed.rate",
                    Set.of("client-id"), "Records consumed per second"),
            "producer-metrics:record-send-rate", new Selected("kafka.producer.record.send.rate",
                    Set.of("client-id"), "Records sent per second"),
            "producer-metrics:record-error-rate", new Selected("kafka.producer.record.error.rate",
                    Set.of("client-id"), "Record sends per second that resulted in errors"));

    private final Map<MetricName, Meter> meters = new ConcurrentHashMap<>();

    /** Settings whose clients report into {@code r} (JMX reporting stays on). */
    public static KafkaSettings install(KafkaSettings settings, MeterRegistry r) {
        registry = r;
        String existing = settings.clientProperties().getOrDefault("metric.reporters", JmxReporter.class.getName());
        if (existing.contains(KafkaMetricsBridge.class.getName())) {
            return settings;
        }
        String reporters = existing.isBlank() ? KafkaMetricsBridge.class.getName() : existing + "," + KafkaMetricsBridge.class.getName();
        return settings.with("metric.reporters", reporters);
    }

    @Override
    public void configure(Map<String, ?> configs) {
        // nothing: the registry is the process's
    }

    @Override
    public void init(List<KafkaMetric> metrics) {
        metrics.forEach(this::metricChange);
    }

    @Override
    public void metricChange(KafkaMetric metric) {
        MeterRegistry r = registry;
        MetricName n = metric.metricName();
        Selected s = SELECTED.get(n.group() + ":" + n.name());
        if (r == null || s == null || !n.tags().keySet().equals(s.tagKeys())) {
            return;
        }
        Tags tags = Tags.empty();
        for (String k : s.tagKeys()) {
            tags = tags.and(k.equals("client-id") ? "client.id" : k, n.tags().get(k));
        }
        Meter old = meters.put(n, Gauge.builder(s.meter(), metric, KafkaMetricsBridge::value)
                .description(s.description()).tags(tags).register(r));
        if (old != null && !old.getId().equals(meters.get(n).getId())) {
            r.remove(old);
        }
    }

    private static double value(KafkaMetric m) {
        Object v = m.metricValue();
        return v instanceof Number num ? num.doubleValue() : Double.NaN;
    }

    @Override
    public void metricRemoval(KafkaMetric metric) {
        Meter m = meters.remove(metric.metricName());
        MeterRegistry r = registry;
        if (m != null && r != null) {
            r.remove(m);
        }
    }

    @Override
    public void close() {
        MeterRegistry r = registry;
        if (r != null) {
            meters.values().forEach(r::remove);
        }
        meters.clear();
    }
}
