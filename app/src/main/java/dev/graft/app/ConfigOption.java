package dev.graft.app;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --config FILE}: a properties file of settings, below flags and environment variables (see {@link SettingsSource}). */
public final class ConfigOption {
    static final String NAME = "--config";

    @Option(names = NAME, paramLabel = "FILE",
            description = "Properties file of settings: option names without dashes (batch-size=32, or feature-worker.batch-size=32) "
                    + "and kafka.* client settings. Flags win over GRAFT_* environment variables, which win over the file.")
    Path config;
}
