package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.kafka.KafkaSettings;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Flags, then GRAFT_* environment variables, then the --config properties file, then built-in defaults. */
class SettingsPrecedenceTest {

    @TempDir
    Path dir;

    private Path config() throws Exception {
        Path f = dir.resolve("graft.properties");
        Files.writeString(f, String.join("\n",
                "# every role reads this file",
                "worker-id=file-w",
                "bootstrap-servers=file:9092",
                "batch-size=8",
                "feature-worker.batch-size=12",
                "min-new=50",
                "metrics-port=9404",
                "kafka.security.protocol=SSL",
                "kafka.linger.ms=1",
                "kafka.request.timeout.ms=7000",
                ""));
        return f;
    }

    private static <T> T parse(Map<String, String> env, String command, String... args) {
        CommandLine cl = GraftCli.commandLine(env);
        String[] all = new String[args.length + 1];
        all[0] = command;
        System.arraycopy(args, 0, all, 1, args.length);
        cl.parseArgs(all);
        return cl.getSubcommands().get(command).getCommand();
    }

    @Test
    void flagsBeatEnvironmentBeatsFileBeatsDefaults() throws Exception {
        Map<String, String> env = Map.of(
                "GRAFT_WORKER_ID", "env-w",
                "GRAFT_BOOTSTRAP_SERVERS", "env:9092",
                "GRAFT_KAFKA_LINGER_MS", "2",
                "GRAFT_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT");
        FeatureWorkerCommand fw = parse(env, "feature-worker", "--config", config().toString(), "--worker-id", "flag-w",
                "-k", "client.id=flag-client", "-k", "security.protocol=SASL_SSL");

        assertThat(fw.workerId).as("flag over env and file").isEqualTo("flag-w");
        assertThat(fw.kafka.bootstrapServers).as("env over file").isEqualTo("env:9092");
        assertThat(fw.batchSize).as("file, command-scoped key over plain key").isEqualTo(12);
        assertThat(fw.metrics.metricsPort).as("file").isEqualTo(9404);
        assertThat(fw.kafka.topicPrefix).as("built-in default").isEqualTo("graft.");
        assertThat(fw.base.spec).as("built-in default").isEqualTo(BaseOptions.DEFAULT_SPEC);

        KafkaSettings k = fw.kafka.settings();
        assertThat(k.bootstrapServers()).isEqualTo("env:9092");
        assertThat(k.clientProperties())
                .containsEntry("security.protocol", "SASL_SSL") // flag over env over file
                .containsEntry("linger.ms", "2")                 // env over file
                .containsEntry("request.timeout.ms", "7000")     // file, passed straight through
                .containsEntry("client.id", "flag-client");       // flag only
        assertThat(k.producerConfig()).containsEntry("linger.ms", "2").containsEntry("security.protocol", "SASL_SSL");
    }

    @Test
    void plainFileKeyAppliesToEveryCommandAndRequiredOptionsMayComeFromTheEnvironment() throws Exception {
        HeadTrainerCommand ht = parse(Map.of("GRAFT_TASK", "fashion"), "head-trainer", "--config", config().toString());
        assertThat(ht.task).isEqualTo("fashion");
        assertThat(ht.head.minNew).isEqualTo(50);
        assertThat(ht.kafka.bootstrapServers).isEqualTo("file:9092");

        DemoCommand demo = parse(Map.of(), "demo", "--config", config().toString());
        assertThat(demo.batchSize).as("plain key; the feature-worker. key is not for the demo").isEqualTo(8);
    }

    @Test
    void withoutConfigOrEnvironmentTheBuiltInDefaultsHold() {
        FeatureWorkerCommand fw = parse(Map.of(), "feature-worker");
        assertThat(fw.batchSize).isEqualTo(16);
        assertThat(fw.kafka.bootstrapServers).isEqualTo("localhost:9092");
        assertThat(fw.metrics.metricsPort).isEqualTo(-1);
        assertThat(fw.kafka.settings().clientProperties()).isEmpty();
    }

    @Test
    void aMissingConfigFileIsAUsageError() {
        CommandLine cl = GraftCli.commandLine(Map.of());
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        int code = cl.execute("models", "--task", "t", "--config", dir.resolve("nope.properties").toString());
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("--config: cannot read").contains("nope.properties");
    }
}
