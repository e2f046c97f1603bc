package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine;

/**
 * docker-compose.yml's structure, without Docker: services, images, health checks against the graft
 * services' --metrics-port, dependencies, volumes, and every graft command parses with the real CLI.
 */
class ComposeFileTest {
    static final Path COMPOSE = Path.of("..", "docker-compose.yml");
    static final Path DOCKERFILE = Path.of("..", "Dockerfile");
    static final Pattern HEALTH_URL = Pattern.compile("http://localhost:(\\d+)/health");

    @SuppressWarnings("unchecked")
    private static Map<String, Object> compose() throws Exception {
        return (Map<String, Object>) new Yaml().load(Files.readString(COMPOSE));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Map<String, Object>> services() throws Exception {
        return (Map<String, Map<String, Object>>) compose().get("services");
    }

    @Test
    void hasTheServicesAndEveryOneHasAnImage() throws Exception {
        Map<String, Map<String, Object>> services = services();
        assertThat(services).containsKeys("kafka", "feature-worker", "head-trainer", "fine-tune-worker", "predict-worker", "producer");
        services.forEach((name, s) -> assertThat(s).as(name).containsKey("image"));
        assertThat(services.get("kafka").get("image")).isEqualTo("apache/kafka:4.4.0");
        assertThat(services.values().stream().filter(s -> s.containsKey("build")).map(s -> s.get("image")))
                .as("one service builds the graft image").containsExactly("graft:latest");
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyGraftCommandParsesWithTheRealCli() throws Exception {
        for (Map.Entry<String, Map<String, Object>> e : services().entrySet()) {
            if (!"graft:latest".equals(e.getValue().get("image"))) {
                continue;
            }
            List<String> command = (List<String>) e.getValue().get("command");
            assertThat(command).as(e.getKey()).isNotEmpty();
            CommandLine cl = GraftCli.commandLine(Map.of());
            cl.parseArgs(command.toArray(String[]::new)); // throws on an unknown command or flag
            Map<String, Object> env = (Map<String, Object>) e.getValue().get("environment");
            assertThat(env).as(e.getKey()).containsEntry("GRAFT_BOOTSTRAP_SERVERS", "kafka:9092");
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void longRunningServicesHaveHealthChecksAndGraftOnesProbeTheirMetricsPort() throws Exception {
        for (Map.Entry<String, Map<String, Object>> e : services().entrySet()) {
            Map<String, Object> s = e.getValue();
            if (s.containsKey("profiles")) {
                continue; // one-shot jobs
            }
            Map<String, Object> hc = (Map<String, Object>) s.get("healthcheck");
            assertThat(hc).as("healthcheck of " + e.getKey()).isNotNull().containsKeys("test", "interval", "timeout", "retries");
            List<String> test = (List<String>) hc.get("test");
            assertThat(test.get(0)).isIn("CMD", "CMD-SHELL");
            if ("graft:latest".equals(s.get("image"))) {
                List<String> command = (List<String>) s.get("command");
                int i = command.indexOf("--metrics-port");
                assertThat(i).as(e.getKey() + " serves metrics").isGreaterThan(0);
                String port = command.get(i + 1);
                Matcher m = HEALTH_URL.matcher(String.join(" ", test));
                assertThat(m.find()).as(e.getKey() + " probes /health: " + test).isTrue();
                assertThat(m.group(1)).as(e.getKey() + " probes its --metrics-port").isEqualTo(port);
                assertThat((List<Object>) s.get("expose")).as(e.getKey()).extracting(String::valueOf).contains(port);
                assertThat(test).contains("curl");
                assertThat(Files.readString(DOCKERFILE)).as("the image has curl for the health check").containsPattern("apt-get install[^\\n]* curl");
            }
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void dependenciesAndVolumesResolve() throws Exception {
        Map<String, Map<String, Object>> services = services();
        Map<String, Object> volumes = (Map<String, Object>) compose().get("volumes");
        for (Map.Entry<String, Map<String, Object>> e : services.entrySet()) {
            Object deps = e.getValue().get("depends_on");
            if (deps instanceof Map<?, ?> m) {
                for (Map.Entry<?, ?> d : m.entrySet()) {
                    assertThat(services).as(e.getKey() + " depends on " + d.getKey()).containsKey((String) d.getKey());
                    Object condition = ((Map<String, Object>) d.getValue()).get("condition");
                    if ("service_healthy".equals(condition)) {
                        assertThat(services.get((String) d.getKey())).as(d.getKey() + " needs a healthcheck").containsKey("healthcheck");
                    }
                }
            }
            for (Object v : (List<Object>) e.getValue().getOrDefault("volumes", List.of())) {
                String source = String.valueOf(v).split(":")[0];
                if (!source.startsWith("/") && !source.startsWith(".")) {
                    assertThat(volumes).as(e.getKey() + " uses named volume " + source).containsKey(source);
                }
            }
        }
    }
}
