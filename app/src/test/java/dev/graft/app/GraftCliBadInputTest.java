package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Bad input gets one clear message and a non-zero exit code, fast, never a hang or a stack trace. */
class GraftCliBadInputTest {

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = GraftCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void unknownFlagIsAUsageError() {
        Run r = run("produce", "--task", "t", "--no-such-flag");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("Unknown option: '--no-such-flag'");
    }

    @Test
    void retrainWithAbsurdValuesIsAUsageErrorBeforeAnyBrokerIsContacted() {
        Run epochs = run("retrain", "--task", "t", "--epochs", "0", "--bootstrap-servers", "localhost:1");
        assertThat(epochs.code()).isEqualTo(2);
        assertThat(epochs.err()).contains("--epochs must be >= 1");
        Run aug = run("retrain", "--task", "t", "--augment", "rotate", "--bootstrap-servers", "localhost:1");
        assertThat(aug.code()).isEqualTo(2);
        assertThat(aug.err()).contains("unknown augmentation 'rotate'");
    }

    @Test
    void unknownCommandIsAUsageError() {
        Run r = run("frobnicate");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("frobnicate");
    }

    @Test
    void missingRequiredOptionNamesIt() {
        Run r = run("classify", "x.png");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--task");
    }

    @Test
    void missingFileIsNamed(@TempDir Path dir) {
        Path missing = dir.resolve("nope.png");
        Run r = run("classify", "--task", "t", "--bootstrap-servers", "localhost:1", missing.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("nope.png").doesNotContain("at dev.graft");
    }

    @Test
    void missingIdxDirectoryIsNamed(@TempDir Path dir) {
        Run r = run("produce", "--task", "t", "--idx", dir.resolve("absent").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("no such directory").contains("absent");
    }

    @Test
    void predictWorkerNeedsATaskAndANonBlankWorkerId() {
        Run noTask = run("predict-worker");
        assertThat(noTask.code()).isEqualTo(2);
        assertThat(noTask.err()).contains("--task");
        Run blankId = run("predict-worker", "--task", "t", "--worker-id", " ");
        assertThat(blankId.code()).isEqualTo(1);
        assertThat(blankId.err()).contains("workerId must not be blank").doesNotContain("at dev.graft");
    }

    @Test
    @Timeout(60) // a hang guard, not a speed check: the command itself gives up after 5 s
    void noBrokerFailsInsteadOfHanging() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // closed again: nothing listens there
        }
        Run r = run("models", "--task", "t", "--bootstrap-servers", "localhost:" + port);
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("no Kafka broker reachable at localhost:" + port);
    }

    @Test
    void unknownBaseSpecListsWhatIsAccepted() {
        Run r = run("feature-worker", "--base", "nosuch:model", "--bootstrap-servers", "localhost:1");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("nosuch").contains("nsfwjs:");
    }

    @Test
    void badDurationIsExplained() {
        Run r = run("head-trainer", "--task", "t", "--max-wait", "soon", "--bootstrap-servers", "localhost:1");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("not a duration: 'soon'");
    }

    @Test
    void featureWorkerCommitIntervalOutOfRangeOrUnreadableIsAUsageError() {
        Run tooLong = run("feature-worker", "--commit-interval", "5m", "--bootstrap-servers", "localhost:1");
        assertThat(tooLong.code()).isEqualTo(2);
        assertThat(tooLong.err()).contains("--commit-interval: at most 30s");
        Run unreadable = run("feature-worker", "--commit-interval", "soon", "--bootstrap-servers", "localhost:1");
        assertThat(unreadable.code()).isEqualTo(2);
        assertThat(unreadable.err()).contains("--commit-interval: not a duration: 'soon'");
        Run omp = run("feature-worker", "--omp-threads", "-1", "--bootstrap-servers", "localhost:1");
        assertThat(omp.code()).isEqualTo(2);
        assertThat(omp.err()).contains("--omp-threads must be >= 0");
        for (String queued : new String[] {"0", "4097"}) {
            Run r = run("feature-worker", "--queued-images", queued, "--bootstrap-servers", "localhost:1");
            assertThat(r.code()).as(queued).isEqualTo(2);
            assertThat(r.err()).contains("--queued-images must be in 1..4096 or auto, got " + queued);
        }
        Run words = run("feature-worker", "--queued-images", "many", "--bootstrap-servers", "localhost:1");
        assertThat(words.code()).isEqualTo(2);
        assertThat(words.err()).contains("--queued-images must be a number in 1..4096 or auto, got 'many'");
        for (String lanes : new String[] {"0", "65"}) {
            Run r = run("feature-worker", "--lanes", lanes, "--bootstrap-servers", "localhost:1");
            assertThat(r.code()).as(lanes).isEqualTo(2);
            assertThat(r.err()).contains("--lanes: inference lanes must be in 1..64, got " + lanes);
        }
        Run lanesOverThreads = run("bench", "features", "--threads", "2", "--pipeline-workers", "2", "--pipeline-lanes", "2");
        assertThat(lanesOverThreads.code()).isEqualTo(2);
        assertThat(lanesOverThreads.err()).contains("pipeline workers x lanes must be in 1..2 (the threads), got 2 x 2");
        for (String nice : new String[] {"20", "-1"}) {
            Run r = run("feature-worker", "--background-nice", nice, "--bootstrap-servers", "localhost:1");
            assertThat(r.code()).as(nice).isEqualTo(2);
            assertThat(r.err()).contains("--background-nice: background nice must be in 0..19 (0 = off), got " + nice);
        }
        Run policy = run("feature-worker", "--background-policy", "lazy", "--bootstrap-servers", "localhost:1");
        assertThat(policy.code()).isEqualTo(2);
        assertThat(policy.err()).contains("--background-policy: background policy must be idle or nice, got 'lazy'");
        Run bench = run("bench", "features", "--background-policy", "lazy");
        assertThat(bench.code()).isEqualTo(2);
        assertThat(bench.err()).contains("background policy must be idle or nice, got 'lazy'");
    }
}
