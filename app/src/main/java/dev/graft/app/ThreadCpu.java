package dev.graft.app;

import dev.graft.common.os.ProcStat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * CPU time of every thread of this process, Java and native (oneDNN's OpenMP pool, the embedded broker's
 * threads), from {@code /proc/self/task/TID/stat}: where a pipeline's CPU goes. Linux only; elsewhere a
 * snapshot is empty. Resolution is one clock tick (10 ms at the usual USER_HZ of 100), so it is meant for runs
 * of seconds.
 */
final class ThreadCpu {
    /** Linux's USER_HZ on every mainstream architecture; the unit of utime and stime. */
    static final long TICKS_PER_SECOND = 100;

    private ThreadCpu() {}

    /** One thread: its name as the kernel has it (Java names truncated to 15 characters) and CPU ticks. */
    record Sample(String name, long ticks) {}

    /** tid → sample of every live thread of this process; empty where /proc is not there. */
    static Map<Integer, Sample> snapshot() {
        Map<Integer, Sample> r = new HashMap<>();
        Path tasks = Path.of("/proc/self/task");
        if (!Files.isDirectory(tasks)) return r;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(tasks)) {
            for (Path t : ds) {
                try {
                    Sample s = parseStat(Files.readString(t.resolve("stat"), StandardCharsets.UTF_8));
                    if (s != null) r.put(Integer.parseInt(t.getFileName().toString()), s);
                } catch (IOException | NumberFormatException e) {
                    // the thread ended between listing and reading: it is not in this snapshot
                }
            }
        } catch (IOException e) {
            return Map.of();
        }
        return r;
    }

    /**
     * Name and utime + stime of a {@code /proc/PID/task/TID/stat} line, or null if it does not parse. The name
     * is between the first '(' and the last ')' (it may hold spaces and parentheses); utime and stime are the
     * 12th and 13th fields after it (fields 14 and 15 of proc(5)).
     */
    static Sample parseStat(String line) {
        String[] f = ProcStat.fieldsAfterName(line);
        if (f == null || f.length < 13) return null;
        try {
            return new Sample(ProcStat.name(line), Long.parseLong(f[11]) + Long.parseLong(f[12]));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * Milliseconds of CPU per group between two snapshots, largest first. A thread is grouped by its name with
     * digits and a trailing '-' or '#' run removed ("data-plane-kafk", "GC Thread#3" → "GC Thread"); a thread
     * that started after {@code before} counts from zero, one that ended is lost (its time is not in {@code after}).
     */
    static Map<String, Double> msByGroup(Map<Integer, Sample> before, Map<Integer, Sample> after) {
        Map<String, Double> ms = new HashMap<>();
        for (Map.Entry<Integer, Sample> e : after.entrySet()) {
            Sample b = before.get(e.getKey());
            long base = b != null && b.name().equals(e.getValue().name()) ? b.ticks() : 0;
            long d = e.getValue().ticks() - base;
            if (d > 0) ms.merge(group(e.getValue().name()), d * 1000.0 / TICKS_PER_SECOND, Double::sum);
        }
        List<Map.Entry<String, Double>> sorted = new ArrayList<>(ms.entrySet());
        sorted.sort(Map.Entry.<String, Double>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()));
        Map<String, Double> r = new LinkedHashMap<>();
        for (Map.Entry<String, Double> e : sorted) r.put(e.getKey(), e.getValue());
        return r;
    }

    /**
     * Voluntary context switches so far (from {@code /proc/self/task/TID/status}) summed over the live threads whose
     * kernel name starts with {@code prefix}, or -1 where /proc is not there. A forward-pass thread and its OpenMP
     * helpers (Linux names them after it) make ~0 per batch while OpenMP spins between layers and hundreds when
     * it sleeps and wakes at every layer, as libgomp does once a process holds more pools than it has CPUs
     * ({@link dev.graft.common.os.OneOffThread}).
     */
    static long voluntarySwitches(String prefix) {
        Path tasks = Path.of("/proc/self/task");
        if (!Files.isDirectory(tasks)) return -1;
        long sum = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(tasks)) {
            for (Path t : ds) {
                try {
                    if (!Files.readString(t.resolve("comm"), StandardCharsets.UTF_8).startsWith(prefix)) continue;
                    sum += switchesOf(Files.readString(t.resolve("status"), StandardCharsets.UTF_8));
                } catch (IOException | NumberFormatException e) {
                    // the thread ended between listing and reading: not counted
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return sum;
    }

    /** The {@code voluntary_ctxt_switches} field of a {@code /proc/.../status} text; 0 if it is missing. */
    static long switchesOf(String status) {
        for (String line : status.split("\n")) {
            if (line.startsWith("voluntary_ctxt_switches:")) {
                return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        return 0;
    }

    /** The group of the JVM's JIT compiler threads ("C1 CompilerThread0", "C2 CompilerThread1", ... cut to 15 characters). */
    static final String JIT = "C CompilerThre";

    static String group(String name) {
        String g = name.replaceAll("[0-9]+", "").replaceAll("[-#_ ]+$", "");
        return g.isEmpty() ? name : g;
    }

    /** "poll 1.2, inference 8.0, ..." in ms per image, the {@code top} largest groups and the rest summed. */
    static String perImage(Map<String, Double> msByGroup, int images, int top) {
        StringBuilder sb = new StringBuilder();
        double rest = 0;
        int i = 0;
        for (Map.Entry<String, Double> e : msByGroup.entrySet()) {
            if (i++ < top) {
                if (sb.length() > 0) sb.append(", ");
                sb.append(String.format(Locale.ROOT, "%s %.2f", e.getKey(), e.getValue() / images));
            } else {
                rest += e.getValue();
            }
        }
        if (rest > 0) sb.append(String.format(Locale.ROOT, ", other %.2f", rest / images));
        return sb.toString();
    }
}
