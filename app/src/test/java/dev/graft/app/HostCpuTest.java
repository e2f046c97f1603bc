package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class HostCpuTest {

    @Test
    void totalCountsTheEightTimeFieldsAndStealIsTheEighth() {
        // user nice system idle iowait irq softirq steal guest guest_nice (guest is already inside user)
        HostCpu c = HostCpu.parse("cpu  6288804 105007 930328 4700131 16701 0 20737 59882 0 0");
        assertThat(c.total()).isEqualTo(6288804L + 105007 + 930328 + 4700131 + 16701 + 0 + 20737 + 59882);
        assertThat(c.steal()).isEqualTo(59882L);
    }

    @Test
    void stealShareIsStolenTicksOverAllTicksBetweenTwoReadings() {
        HostCpu before = HostCpu.parse("cpu  100 0 0 100 0 0 0 0");
        HostCpu after = HostCpu.parse("cpu  250 0 50 180 0 0 0 20");
        assertThat(HostCpu.stealShare(before, after)).isCloseTo(20.0 / 300, Offset.offset(1e-12));
        assertThat(HostCpu.stealShare(before, before)).as("no ticks between").isNull();
        assertThat(HostCpu.stealShare(null, after)).isNull();
    }

    @Test
    void aPerCpuLineOrAKernelWithoutStealIsRejected() {
        assertThatThrownBy(() -> HostCpu.parse("cpu0 1 2 3 4 5 6 7 8")).hasMessageContaining("cpu0");
        assertThatThrownBy(() -> HostCpu.parse("cpu  1 2 3 4 5 6 7")).hasMessageContaining("steal");
    }

    @Test
    void readsThisMachineWhereThereIsAProcStat() {
        HostCpu now = HostCpu.now();
        if (!java.nio.file.Files.isReadable(java.nio.file.Path.of("/proc/stat"))) {
            assertThat(now).isNull();
            return;
        }
        assertThat(now.total()).isPositive();
        assertThat(now.steal()).isBetween(0L, now.total());
    }
}
