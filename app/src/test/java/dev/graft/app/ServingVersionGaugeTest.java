package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The failure this covers: graft_serving_version read NaN in a running head trainer and predict worker, because
 * the gauge held its supplier (a lambda nothing else referenced) weakly and a GC collected it.
 */
class ServingVersionGaugeTest {
    @Test
    void servingVersionGaugeSurvivesGarbageCollection() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        AtomicInteger serving = new AtomicInteger(4);
        GraftMetrics.servingVersion(meters, "t", serving::get); // a fresh method-ref object, held by nobody else
        for (int i = 0; i < 5; i++) {
            System.gc();
        }
        assertThat(meters.get("graft.serving.version").tag("task", "t").gauge().value()).isEqualTo(4.0);
        serving.set(2);
        assertThat(meters.get("graft.serving.version").tag("task", "t").gauge().value()).isEqualTo(2.0);
    }
}
