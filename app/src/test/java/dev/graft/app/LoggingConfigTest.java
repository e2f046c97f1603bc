package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.MDC;

/** The CLI's logback.xml: text by default, JSON with GRAFT_LOG_FORMAT=json; both carry the MDC and the stable event ids. */
class LoggingConfigTest {

    @AfterEach
    void clear() {
        System.clearProperty("GRAFT_LOG_FORMAT");
        System.clearProperty("GRAFT_LOG_LEVEL");
        MDC.clear();
    }

    private static String logOneDeadLetter(String format) throws Exception {
        if (format != null) {
            System.setProperty("GRAFT_LOG_FORMAT", format); // logback reads system properties before the environment
        }
        System.setProperty("GRAFT_LOG_LEVEL", "INFO");
        LoggerContext ctx = new LoggerContext();
        ctx.setMDCAdapter(MDC.getMDCAdapter());
        JoranConfigurator jc = new JoranConfigurator();
        jc.setContext(ctx);
        PrintStream saved = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            jc.doConfigure(LoggingConfigTest.class.getResource("/logback.xml"));
            Logger log = ctx.getLogger("dev.graft.featureworker.FeatureWorker");
            MDC.put("worker", "fw-1");
            MDC.put("record", "graft.images-0@42");
            MDC.put("image", "img-42");
            log.warn("[GRAFT-DLQ] image {} at {} dead-lettered at stage {}: {}", "img-42", "graft.images-0@42", "decode", "not an image");
            ctx.getLogger("dev.graft.x").debug("not shown at INFO");
            assertThat(ctx.getStatusManager().getCopyOfStatusList()).as("no warnings (they make logback print its status)")
                    .allMatch(st -> st.getLevel() == ch.qos.logback.core.status.Status.INFO);
        } finally {
            System.setErr(saved);
            ctx.stop();
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void textCarriesTheMdc() throws Exception {
        String out = logOneDeadLetter(null);
        assertThat(out).contains("WARN").contains("worker=fw-1").contains("record=graft.images-0@42").contains("image=img-42")
                .contains("[GRAFT-DLQ] image img-42 at graft.images-0@42 dead-lettered at stage decode: not an image")
                .doesNotContain("not shown");
    }

    @Test
    void jsonIsOneObjectPerLineWithTheMdc() throws Exception {
        String out = logOneDeadLetter("json").strip();
        assertThat(out.lines()).hasSize(1);
        @SuppressWarnings("unchecked")
        java.util.Map<String, Object> line = dev.graft.common.json.Json.mapper().readValue(out, java.util.Map.class);
        assertThat(line).containsEntry("level", "WARN").containsEntry("loggerName", "dev.graft.featureworker.FeatureWorker");
        assertThat(String.valueOf(line.get("formattedMessage"))).startsWith("[GRAFT-DLQ] image img-42");
        assertThat(String.valueOf(line.get("mdc"))).contains("record=graft.images-0@42").contains("image=img-42").contains("worker=fw-1");
    }
}
