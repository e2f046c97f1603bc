package dev.graft.common.os;

import java.util.function.Supplier;

/**
 * Runs one-off native compute (importing a base, cutting and folding it) on a thread that ends with it, so that the
 * thread that will run the forward passes is the process's only OpenMP team.
 *
 * <p>Why it matters: OpenMP as ND4J's oneDNN build uses it (GCC's libgomp) gives every thread that opens a parallel
 * region its own pool of helper threads, kept until that thread ends. While the helpers of all live pools
 * outnumber the CPUs, libgomp spins only ~100 times (instead of ~300,000) before a helper sleeps between two
 * parallel regions, so every layer's region wakes its helpers through the kernel. Measured on this project's
 * 2-CPU machine (MobileNetV2, 96 px, batch 8, two OpenMP threads): a forward-pass thread whose process also held a
 * loader's pool made 200-380 voluntary context switches per batch on each of its two threads, against 0 with its
 * own pool alone, and ran ~10% fewer images/s; in a feature worker the sleeping helper's core also goes to the
 * background threads, which the woken helper must pre-empt. A base loaded on a worker's main thread (which lives as
 * long as the process) did exactly that.
 */
public final class OneOffThread {
    private OneOffThread() {}

    /**
     * Runs {@code work} on a new thread named {@code name}, waits for it and returns its result; a
     * {@link RuntimeException} or {@link Error} it throws is rethrown here (with this call's stack as a suppressed
     * exception). The wait is not interruptible (the work could not be stopped halfway anyway); an interrupt that
     * arrives meanwhile is kept in this thread's status.
     */
    public static <T> T call(String name, Supplier<T> work) {
        Object[] result = new Object[1];
        Throwable[] failure = new Throwable[1];
        Thread t = new Thread(() -> {
            try {
                result[0] = work.get();
            } catch (Throwable e) { // handed to the caller below
                failure[0] = e;
            }
        }, name);
        t.setDaemon(true);
        t.start();
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        Throwable f = failure[0];
        if (f != null) {
            f.addSuppressed(new Exception("called from thread " + Thread.currentThread().getName()));
            if (f instanceof RuntimeException re) throw re;
            if (f instanceof Error err) throw err;
            throw new IllegalStateException(f); // checked exceptions cannot leave a Supplier; kept for completeness
        }
        @SuppressWarnings("unchecked")
        T r = (T) result[0];
        return r;
    }
}
