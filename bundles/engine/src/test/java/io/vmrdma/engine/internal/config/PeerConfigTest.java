package io.vmrdma.engine.internal.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import io.vmrdma.api.nic.LinkAddress;
import org.junit.jupiter.api.Test;

class PeerConfigTest {

    @Test
    void readsNodeIdsAndLinkAddresses() {
        assertThat(PeerConfig.parse(Map.of("peer.2", "02:00:00:00:00:02", "peer.3", " 00:03 ", "nodeId", "1"), 1))
                .containsExactly(Map.entry(2, LinkAddress.ofMac("02:00:00:00:00:02")),
                        Map.entry(3, LinkAddress.of((byte) 0, (byte) 3)));
    }

    @Test
    void badEntriesAreRefusedWithTheirKey() {
        assertThatThrownBy(() -> PeerConfig.parse(Map.of("peer.x", "00:01"), 1)).hasMessageContaining("peer.x");
        assertThatThrownBy(() -> PeerConfig.parse(Map.of("peer.1", "00:01"), 1)).hasMessageContaining("not ours");
        assertThatThrownBy(() -> PeerConfig.parse(Map.of("peer.2", "zz:01"), 1)).hasMessageContaining("peer.2")
                .hasMessageContaining("zz:01");
    }
}
