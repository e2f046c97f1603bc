package dev.graft.app;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code graft} command line. Each role of the pipeline is a sub-command. */
@Command(name = "graft", mixinStandardHelpOptions = true, version = "graft 0.1.0",
        description = "Transfer learning and fine-tuning of pretrained image networks, as a Kafka pipeline.",
        subcommands = {
                DemoCommand.class,
                BrokerCommand.class,
                ProduceCommand.class,
                FeatureWorkerCommand.class,
                HeadTrainerCommand.class,
                RetrainCommand.class,
                FineTuneWorkerCommand.class,
                PredictWorkerCommand.class,
                ClassifyCommand.class,
                ModelsCommand.class,
                ReportCommand.class,
                BenchCommand.class,
                ProbeCommand.class,
                CommandLine.HelpCommand.class
        })
public final class GraftCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command (try 'graft demo' or 'graft --help')");
    }

    public static CommandLine commandLine() {
        return commandLine(System.getenv());
    }

    /** The command line reading unset options from {@code env} and the {@code --config} file ({@link SettingsSource}). */
    static CommandLine commandLine(java.util.Map<String, String> env) {
        CommandLine cl = new CommandLine(new GraftCli());
        cl.setExecutionExceptionHandler(GraftCli::handleError);
        cl.setDefaultValueProvider(new SettingsSource(env));
        return cl;
    }

    /** Runtime errors: one clear line on stderr (the stack trace only with GRAFT_DEBUG=1), exit code 1. */
    private static int handleError(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        err.println(cl.getColorScheme().errorText("graft " + cl.getCommandName() + ": error: " + msg));
        if (System.getenv("GRAFT_DEBUG") != null) {
            e.printStackTrace(err);
        }
        err.flush();
        return 1;
    }

    public static void main(String[] args) {
        int code = commandLine().execute(args);
        System.exit(code);
    }
}
