package dev.graft.app;

import java.nio.file.Path;

/** Graft's local state directory: $GRAFT_HOME, default ~/.graft. */
final class GraftHome {
    private GraftHome() {}

    static Path dir() {
        String env = System.getenv("GRAFT_HOME");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".graft");
    }
}
