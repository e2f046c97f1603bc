package dev.graft.app;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DevicesTest {

    @Test
    void cudaOnTheCpuBackendFailsNamingTheCudaProfile() {
        assertThatThrownBy(() -> Devices.require("cuda"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-Pcuda").hasMessageContaining("CPU");
    }

    @Test
    void unknownDeviceIsRefusedAndCpuAccepted() {
        assertThatThrownBy(() -> Devices.require("tpu")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cpu or cuda");
        assertThatCode(() -> Devices.require("cpu")).doesNotThrowAnyException();
    }
}
