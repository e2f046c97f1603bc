package dev.graft.common.os;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The Linux scheduling priority ("nice", 0..19 without privileges) of single threads of this process.
 *
 * <p>Linux keeps a nice value per thread, and a thread starts with its creator's. So a thread that lowers its own
 * priority before it starts helpers (an executor's thread, a Kafka client's I/O thread) lowers theirs too, while
 * threads it started before keep theirs. Raising a priority again needs privileges, so {@link #lower} never
 * sets a nice value below the thread's current one. Java has no API for it ({@code Thread.setPriority} changes nothing
 * on Linux without root), so this calls {@code setpriority(2)} through JNA on the thread's kernel id.
 *
 * <p>Below every nice value is the scheduling policy {@code SCHED_IDLE} ({@link #idle}): such a thread runs only
 * on a core no other thread wants, and a normal thread that wakes pre-empts it at once, where under a nice value it
 * may wait for the running thread's time slice. Threads inherit it as they inherit nice values, and leaving it
 * needs privileges too.
 */
public final class ThreadNice {
    /** The lowest priority an unprivileged thread may choose. */
    public static final int MAX = 19;

    private static final int PRIO_PROCESS = 0; // with a thread id as "who", Linux applies it to that thread only
    /** Linux's number for the {@code SCHED_IDLE} policy (sched.h); {@code SCHED_OTHER} is 0. */
    public static final int SCHED_IDLE = 5;

    private ThreadNice() {}

    interface LibC extends Library {
        int setpriority(int which, int who, int prio) throws LastErrorException;

        int sched_setscheduler(int pid, int policy, int[] param) throws LastErrorException;
    }

    /** Loaded on first use only, so merely referencing this class needs no native library. */
    private static final class C {
        static final LibC LIB = Native.load("c", LibC.class);
    }

    /** Whether this platform has per-thread nice values this class can read and set (Linux with /proc). */
    public static boolean supported() {
        return Files.isSymbolicLink(Path.of("/proc/thread-self"));
    }

    /** The calling thread's kernel thread id ({@code gettid()}), read from {@code /proc/thread-self}. */
    public static int currentTid() throws IOException {
        // "/proc/thread-self" -> "<pid>/task/<tid>"
        Path target = Files.readSymbolicLink(Path.of("/proc/thread-self"));
        return Integer.parseInt(target.getFileName().toString());
    }

    /** The nice value of thread {@code tid} of this process, from {@code /proc/self/task/<tid>/stat}. */
    public static int niceOf(int tid) throws IOException {
        String stat = Files.readString(Path.of("/proc/self/task", Integer.toString(tid), "stat"));
        String[] f = ProcStat.fieldsAfterName(stat);
        if (f == null || f.length < 17) {
            throw new IOException("unreadable stat of thread " + tid + ": " + stat);
        }
        return Integer.parseInt(f[16]); // field 19 of proc(5), the nice value
    }

    /** The scheduling policy of thread {@code tid} of this process ({@code SCHED_OTHER} 0, {@link #SCHED_IDLE} ...). */
    public static int policyOf(int tid) throws IOException {
        String stat = Files.readString(Path.of("/proc/self/task", Integer.toString(tid), "stat"));
        String[] f = ProcStat.fieldsAfterName(stat);
        if (f == null || f.length < 39) {
            throw new IOException("unreadable stat of thread " + tid + ": " + stat);
        }
        return Integer.parseInt(f[38]); // field 41 of proc(5), the policy
    }

    /**
     * Puts the calling thread under {@code SCHED_IDLE}; threads it starts afterwards inherit it.
     *
     * @throws UnsupportedOperationException where there are no per-thread policies (not Linux)
     * @throws IOException when {@code /proc} cannot be read or {@code sched_setscheduler} fails (with errno's reason)
     */
    public static void idleCurrentThread() throws IOException {
        requireSupported();
        idle(currentTid());
    }

    /** As {@link #idleCurrentThread}, for thread {@code tid} of this process (threads it starts later do not inherit it). */
    public static void idle(int tid) throws IOException {
        requireSupported();
        if (policyOf(tid) == SCHED_IDLE) {
            return;
        }
        try {
            C.LIB.sched_setscheduler(tid, SCHED_IDLE, new int[] {0}); // struct sched_param { int sched_priority = 0; }
        } catch (LastErrorException | UnsatisfiedLinkError e) {
            throw new IOException("sched_setscheduler(" + tid + ", SCHED_IDLE) failed: " + e.getMessage(), e);
        }
        if (policyOf(tid) != SCHED_IDLE) {
            throw new IOException("thread " + tid + " is not under SCHED_IDLE after sched_setscheduler");
        }
    }

    /** Whether thread {@code tid} of this process still runs (JIT compiler threads, for one, come and go). */
    public static boolean alive(int tid) {
        return Files.exists(Path.of("/proc/self/task", Integer.toString(tid)));
    }

    /** Kernel ids of this process's threads whose name ({@code comm}, at most 15 characters) starts with {@code prefix}. */
    public static List<Integer> threadsNamed(String prefix) throws IOException {
        List<Integer> tids = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    if (Files.readString(task.resolve("comm")).startsWith(prefix)) {
                        tids.add(Integer.parseInt(task.getFileName().toString()));
                    }
                } catch (NoSuchFileException ended) {
                    // the thread ended while we listed: not one of them any more
                }
            }
        }
        return tids;
    }

    /**
     * Sets the calling thread's nice value to {@code nice}, or leaves it if it is already that low a priority;
     * threads it starts afterwards inherit it. Returns the value it has now.
     *
     * @throws IllegalArgumentException unless {@code nice} is in 0..{@link #MAX}
     * @throws UnsupportedOperationException where there are no per-thread nice values (not Linux)
     * @throws IOException when {@code /proc} cannot be read or {@code setpriority} fails (with errno's reason)
     */
    public static int lowerCurrentThread(int nice) throws IOException {
        requireSupported();
        return lower(currentTid(), nice);
    }

    /** As {@link #lowerCurrentThread}, for thread {@code tid} of this process (threads it starts later do not inherit it). */
    public static int lower(int tid, int nice) throws IOException {
        if (nice < 0 || nice > MAX) {
            throw new IllegalArgumentException("nice must be in 0.." + MAX + ", got " + nice);
        }
        requireSupported();
        int now = niceOf(tid);
        if (now >= nice) {
            return now;
        }
        try {
            C.LIB.setpriority(PRIO_PROCESS, tid, nice);
        } catch (LastErrorException | UnsatisfiedLinkError e) {
            throw new IOException("setpriority(" + tid + ", " + nice + ") failed: " + e.getMessage(), e);
        }
        return niceOf(tid);
    }

    private static void requireSupported() {
        if (!supported()) {
            throw new UnsupportedOperationException("per-thread nice values need Linux /proc (os.name "
                    + System.getProperty("os.name") + ")");
        }
    }
}
