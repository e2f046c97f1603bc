package dev.graft.app;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The machine's CPU time from the aggregate {@code cpu} line of {@code /proc/stat} (proc(5)), in clock ticks: how
 * much of it the hypervisor gave to other guests ({@code steal}). On a shared virtual machine a timed run that lost
 * a tenth of its CPU to steal is slower for a reason outside the process, so the bench reports the share per run.
 *
 * @param total all ticks (user, nice, system, idle, iowait, irq, softirq, steal; guest time is already in user)
 * @param steal ticks stolen by the hypervisor
 */
record HostCpu(long total, long steal) {
    private static final Path PROC_STAT = Path.of("/proc/stat");
    /** Fields of the cpu line counted in the total: user nice system idle iowait irq softirq steal. */
    private static final int COUNTED = 8;
    private static final int STEAL = 7;

    /** Parses the aggregate line ({@code cpu  user nice system idle iowait irq softirq steal ...}). */
    static HostCpu parse(String cpuLine) {
        String[] f = cpuLine.trim().split("\\s+");
        if (f.length < 1 + COUNTED || !f[0].equals("cpu")) {
            throw new IllegalArgumentException("not an aggregate /proc/stat cpu line with steal: '" + cpuLine + "'");
        }
        long total = 0;
        for (int i = 1; i <= COUNTED; i++) total += Long.parseLong(f[i]);
        return new HostCpu(total, Long.parseLong(f[1 + STEAL]));
    }

    /** Now, or null where there is no readable {@code /proc/stat} (not Linux). */
    static HostCpu now() {
        try (var lines = Files.lines(PROC_STAT, StandardCharsets.US_ASCII)) {
            return lines.findFirst().map(HostCpu::parse).orElse(null);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Share of the ticks between {@code before} and {@code after} that were stolen; null if either is unknown. */
    static Double stealShare(HostCpu before, HostCpu after) {
        if (before == null || after == null || after.total <= before.total) return null;
        return (double) (after.steal - before.steal) / (after.total - before.total);
    }
}
