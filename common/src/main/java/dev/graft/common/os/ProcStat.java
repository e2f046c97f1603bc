package dev.graft.common.os;

/** Reading a Linux {@code /proc/PID/task/TID/stat} line (proc(5)). */
public final class ProcStat {
    private ProcStat() {}

    /**
     * The fields after the thread's name, from field 3 (state) on: index {@code i} is field {@code i + 3} of
     * proc(5). The name sits between the first '(' and the last ')' and may hold spaces and parentheses, so the
     * fields are counted from the last ')'. Null if the line has no name in parentheses.
     */
    public static String[] fieldsAfterName(String line) {
        int open = line.indexOf('(');
        int close = line.lastIndexOf(')');
        if (open < 0 || close < open) return null;
        return line.substring(close + 1).trim().split("\\s+");
    }

    /** The thread's name (comm) of a stat line, or null if it has none in parentheses. */
    public static String name(String line) {
        int open = line.indexOf('(');
        int close = line.lastIndexOf(')');
        return open < 0 || close < open ? null : line.substring(open + 1, close);
    }
}
