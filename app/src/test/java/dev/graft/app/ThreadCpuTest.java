package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ThreadCpuTest {

    @Test
    void statLineWithSpacesAndParenthesesInTheNameParses() {
        String line = "4720 (GC Thread#0 (x)) R 4716 4716 2595 0 -1 4194304 135 0 0 0 17 5 0 0 20 0 1 0 3344184";
        ThreadCpu.Sample s = ThreadCpu.parseStat(line);
        assertThat(s.name()).isEqualTo("GC Thread#0 (x)");
        assertThat(s.ticks()).isEqualTo(22);
        assertThat(ThreadCpu.parseStat("garbage")).isNull();
        assertThat(ThreadCpu.parseStat("1 (x) R 1 2")).isNull();
    }

    @Test
    void groupsSumNewThreadsFromZeroAndSkipIdleOnes() {
        Map<Integer, ThreadCpu.Sample> before = Map.of(
                1, new ThreadCpu.Sample("GC Thread#0", 10),
                2, new ThreadCpu.Sample("GC Thread#1", 10),
                3, new ThreadCpu.Sample("idle", 7),
                4, new ThreadCpu.Sample("recycled-tid", 50));
        Map<Integer, ThreadCpu.Sample> after = Map.of(
                1, new ThreadCpu.Sample("GC Thread#0", 30),
                2, new ThreadCpu.Sample("GC Thread#1", 15),
                3, new ThreadCpu.Sample("idle", 7),
                4, new ThreadCpu.Sample("graft-inferenc", 3),
                5, new ThreadCpu.Sample("data-plane-kafk", 100));
        Map<String, Double> ms = ThreadCpu.msByGroup(before, after);
        assertThat(ms).containsExactly(Map.entry("data-plane-kafk", 1000.0), Map.entry("GC Thread", 250.0),
                Map.entry("graft-inferenc", 30.0));
        assertThat(ThreadCpu.perImage(ms, 10, 2)).isEqualTo("data-plane-kafk 100.00, GC Thread 25.00, other 3.00");
    }

    @Test
    void bothJitTiersAndAllTheirThreadsFallInOneGroup() {
        // the kernel keeps 15 characters of "C2 CompilerThread0"
        assertThat(ThreadCpu.group("C2 CompilerThre")).isEqualTo(ThreadCpu.JIT);
        assertThat(ThreadCpu.group("C1 CompilerThre")).isEqualTo(ThreadCpu.JIT);
        assertThat(ThreadCpu.group("GC Thread#1")).isNotEqualTo(ThreadCpu.JIT);
    }

    @Test
    void thisProcessHasThreadsWithCpuOnLinux() {
        Map<Integer, ThreadCpu.Sample> now = ThreadCpu.snapshot();
        if (System.getProperty("os.name").toLowerCase().contains("linux")) {
            assertThat(now).isNotEmpty();
            assertThat(now.values().stream().mapToLong(ThreadCpu.Sample::ticks).sum()).isPositive();
        }
    }

    @Test
    void voluntarySwitchesAreReadFromTheStatusText() {
        String status = "Name:\tgraft-inferenc\nState:\tS (sleeping)\nvoluntary_ctxt_switches:\t4711\n"
                + "nonvoluntary_ctxt_switches:\t12\n";
        assertThat(ThreadCpu.switchesOf(status)).isEqualTo(4711);
        assertThat(ThreadCpu.switchesOf("Name:\tx\n")).isZero();
    }

    @Test
    void aThreadThatSleepsRepeatedlyCountsItsSwitchesOnLinux() throws Exception {
        if (!System.getProperty("os.name").toLowerCase().contains("linux")) return;
        java.util.concurrent.CountDownLatch slept = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        Thread t = new Thread(() -> {
            try {
                for (int i = 0; i < 20; i++) Thread.sleep(1); // each sleep gives up the CPU: one voluntary switch or more
                slept.countDown();
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "switch-counter");
        t.start();
        try {
            slept.await();
            assertThat(ThreadCpu.voluntarySwitches("switch-counter")).isGreaterThanOrEqualTo(20);
            assertThat(ThreadCpu.voluntarySwitches("no-such-thread-")).isZero();
        } finally {
            done.countDown();
            t.join();
        }
    }
}
