package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The failure this covers: {@code graft produce --task T a.png b.png} was rejected ("Unmatched arguments") after the first file. */
class ProduceCommandArgsTest {
    @Test
    void severalFilesAreAcceptedNotOnlyTheFirst() {
        CommandLine.ParseResult parsed = GraftCli.commandLine().parseArgs("produce", "--task", "t", "a.png", "b.png", "c.jpg");
        ProduceCommand cmd = (ProduceCommand) parsed.subcommand().commandSpec().userObject();
        assertThat(cmd.source.files).containsExactly(Path.of("a.png"), Path.of("b.png"), Path.of("c.jpg"));
    }
}
