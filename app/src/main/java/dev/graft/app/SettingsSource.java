package dev.graft.app;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Where an option's value comes from when it is not on the command line, in this order:
 * <ol>
 *   <li>the environment: {@code --batch-size} of any command reads {@code GRAFT_BATCH_SIZE};</li>
 *   <li>the {@code --config FILE} properties: {@code feature-worker.batch-size}, then {@code batch-size};</li>
 *   <li>the option's built-in default.</li>
 * </ol>
 * Flags are applied by picocli before any of these are asked. Kafka client settings ({@link #kafkaSettings}):
 * {@code kafka.*} keys of the file, overridden by {@code GRAFT_KAFKA_*} variables ({@code GRAFT_KAFKA_SECURITY_PROTOCOL}
 * is {@code security.protocol}), overridden by {@code -k KEY=VALUE} flags.
 */
final class SettingsSource implements CommandLine.IDefaultValueProvider {
    static final String ENV_PREFIX = "GRAFT_";
    static final String KAFKA_ENV_PREFIX = "GRAFT_KAFKA_";

    private final Map<String, String> env;
    private final Map<Path, Properties> files = new LinkedHashMap<>();

    SettingsSource(Map<String, String> env) {
        this.env = Map.copyOf(env);
    }

    /** The variable an option reads: {@code --batch-size} is {@code GRAFT_BATCH_SIZE}. */
    static String envName(String optionKey) {
        return ENV_PREFIX + optionKey.toUpperCase(Locale.ROOT).replace('-', '_');
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (!arg.isOption()) {
            return null;
        }
        OptionSpec o = (OptionSpec) arg;
        String name = o.longestName();
        if (!name.startsWith("--") || o.usageHelp() || o.versionHelp() || o.isMultiValue() || name.equals(ConfigOption.NAME)) {
            return null;
        }
        String key = name.substring(2);
        String v = env.get(envName(key));
        if (v != null && !v.isBlank()) {
            return v;
        }
        Properties file = file(o.command());
        String command = o.command() == null ? null : o.command().name();
        if (command != null && file.getProperty(command + "." + key) != null) {
            return file.getProperty(command + "." + key).trim();
        }
        if (file.getProperty(key) != null) {
            return file.getProperty(key).trim();
        }
        if (key.equals("bootstrap-servers") && file.getProperty("kafka.bootstrap.servers") != null) {
            return file.getProperty("kafka.bootstrap.servers").trim();
        }
        return null;
    }

    /** Kafka client settings from the file's {@code kafka.*} keys and {@code GRAFT_KAFKA_*} variables (the latter win). */
    Map<String, String> kafkaSettings(CommandSpec command) {
        Map<String, String> out = new TreeMap<>();
        Properties file = file(command);
        for (String k : file.stringPropertyNames()) {
            if (k.startsWith("kafka.") && !k.equals("kafka.bootstrap.servers")) {
                out.put(k.substring("kafka.".length()), file.getProperty(k).trim());
            }
        }
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (e.getKey().startsWith(KAFKA_ENV_PREFIX) && e.getKey().length() > KAFKA_ENV_PREFIX.length()) {
                String k = e.getKey().substring(KAFKA_ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.');
                if (!k.equals("bootstrap.servers")) {
                    out.put(k, e.getValue());
                }
            }
        }
        return out;
    }

    /** The command's {@code --config} file (empty when none was given). */
    private Properties file(CommandSpec command) {
        OptionSpec opt = command == null ? null : command.findOption(ConfigOption.NAME);
        Path path = opt == null ? null : opt.getValue();
        if (path == null) {
            return new Properties();
        }
        return files.computeIfAbsent(path.toAbsolutePath(), p -> load(command, p));
    }

    private static Properties load(CommandSpec command, Path p) {
        Properties props = new Properties();
        try (Reader r = Files.newBufferedReader(p, StandardCharsets.UTF_8)) {
            props.load(r);
        } catch (IOException e) {
            throw new CommandLine.ParameterException(command.commandLine(),
                    ConfigOption.NAME + ": cannot read " + p + " (" + e.getClass().getSimpleName() + ")");
        }
        return props;
    }
}
