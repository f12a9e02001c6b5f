package io.vmrdma.nic.udp.internal;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.Test;

class UdpConfigurationCheckTest {

    private final UdpConfigurationCheck check = new UdpConfigurationCheck();

    @Test
    void valuesFromAFileOrTypedPass() {
        assertThatCode(() -> check.check(Map.of())).doesNotThrowAnyException();
        assertThatCode(() -> check.check(Map.of("bindAddress", "fe80::1%eth0", "port", "4800", "mtu", "1452",
                "batchSize", 64))).doesNotThrowAnyException();
    }

    @Test
    void eachBadValueIsRefusedNamingIt() {
        assertThatThrownBy(() -> check.check(Map.of("port", "99999")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("port")
                .hasMessageContaining("99999");
        assertThatThrownBy(() -> check.check(Map.of("mtu", "9000 bytes")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("9000 bytes");
        assertThatThrownBy(() -> check.check(Map.of("mtu", "100")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mtu");
        assertThatThrownBy(() -> check.check(Map.of("bindAddress", "node2.example")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("node2.example");
        assertThatThrownBy(() -> check.check(Map.of("mtu", " 1452 ")))
                .as("Declarative Services does not trim either").isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("mtu");
        assertThatThrownBy(() -> check.check(Map.of("addressCacheSize", "2000000000")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("addressCacheSize");
        assertThatThrownBy(() -> check.check(Map.of("batchSize", "0")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("batchSize");
    }
}
