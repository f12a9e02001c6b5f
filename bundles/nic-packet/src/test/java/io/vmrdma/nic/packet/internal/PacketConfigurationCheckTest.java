package io.vmrdma.nic.packet.internal;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.Test;

/** Runs as root (./test.sh does): the check opens a raw socket on the interface to prove it can. */
class PacketConfigurationCheckTest {

    private final PacketConfigurationCheck check = new PacketConfigurationCheck();

    @Test
    void anInterfaceThatExistsWithGoodValuesPasses() {
        assertThatCode(() -> check.check(Map.of("interfaceName", "lo", "etherType", "0x88b6", "batchSize", "16",
                "qdiscBypass", "true"))).doesNotThrowAnyException();
    }

    @Test
    void eachBadValueIsRefusedNamingIt() {
        assertThatThrownBy(() -> check.check(Map.of("interfaceName", "vmrdma-none0")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no such interface: vmrdma-none0");
        assertThatThrownBy(() -> check.check(Map.of("interfaceName", "lo", "etherType", "0x0800x")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("etherType");
        assertThatThrownBy(() -> check.check(Map.of("interfaceName", "lo", "etherType", "0x05DC")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0x5DC");
        assertThatThrownBy(() -> check.check(Map.of("interfaceName", "lo", "batchSize", "lots")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lots");
        assertThatThrownBy(() -> check.check(Map.of("interfaceName", "lo", "socketBufferBytes", "1024")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("socketBufferBytes");
    }
}
