package dev.graft.app;

import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks, printing ratios against a baseline measured in the same run.",
        subcommands = {BenchFeatures.Features.class, BenchHead.Head.class, BenchFineTune.FineTune.class, CommandLine.HelpCommand.class})
final class BenchCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing benchmark (try 'graft bench features' or 'graft bench head')");
    }
}
