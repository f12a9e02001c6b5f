package io.vmrdma.engine.internal.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

class EngineSettingsTest {

    /** The configuration as Declarative Services builds it for keys not set: the annotation's defaults. */
    private static final EngineConfig DEFAULTS = (EngineConfig) Proxy.newProxyInstance(
            EngineConfig.class.getClassLoader(), new Class<?>[] {EngineConfig.class},
            (proxy, method, args) -> method.getDefaultValue());

    private static EngineSettings parse(Object... keyValues) {
        Map<String, Object> properties = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            properties.put((String) keyValues[i], keyValues[i + 1]);
        }
        return EngineSettings.parse(DEFAULTS, properties);
    }

    @Test
    void keysNotSetTakeTheDefaults() {
        EngineSettings s = parse();
        assertThat(s.nodeId()).isEqualTo(1);
        assertThat(s.nic()).isEqualTo("loopback");
        assertThat(s.maxQps()).isEqualTo(256);
        assertThat(s.maxRegisteredBytes()).isEqualTo(128L << 20);
        assertThat(s.chunkBytes()).isEqualTo(256 * 1024);
        assertThat(s.partitions()).isEmpty();
        assertThat(s.peers()).isEmpty();
        assertThat(s.auth()).as("frames authenticated by default").isTrue();
        assertThat(s.discovery()).isTrue();
        assertThat(s.nodeIdFromCluster()).as("a standalone node's id is in force at once").isFalse();
    }

    @Test
    void theNodeIdIsConfirmedByNoneOrByTheCluster() {
        assertThat(parse("nodeIdConfirmedBy", "cluster").nodeIdFromCluster()).isTrue();
        assertThat(parse("nodeIdConfirmedBy", "none").nodeIdFromCluster()).isFalse();
        assertThatThrownBy(() -> parse("nodeIdConfirmedBy", "etc"))
                .hasMessage("nodeIdConfirmedBy: 'etc' is neither none nor cluster");
    }

    @Test
    void authAndDiscoveryAreOnOrOffAsWritten() {
        assertThat(parse("auth", "off", "discovery", "off")).extracting(EngineSettings::auth, EngineSettings::discovery)
                .containsExactly(false, false);
        assertThatThrownBy(() -> parse("auth", "no")).hasMessage("auth: 'no' is neither on nor off");
        assertThatThrownBy(() -> parse("discovery", " on")).hasMessage("discovery: ' on' is neither on nor off");
    }

    @Test
    void readsTextAndNumbersAndByteUnits() {
        EngineSettings s = parse("nodeId", "7", "nic", "UDP", "maxQps", 512, "maxRegisteredBytes", "256Mi",
                "chunkBytes", "64Ki", "maxMessageBytes", 4096L, "peer.2", "00:02", "partition.0x0001", "web1, web2");
        assertThat(s.nodeId()).isEqualTo(7);
        assertThat(s.nic()).isEqualTo("udp");
        assertThat(s.maxQps()).isEqualTo(512);
        assertThat(s.maxRegisteredBytes()).isEqualTo(256L << 20);
        assertThat(s.chunkBytes()).isEqualTo(64 * 1024);
        assertThat(s.maxMessageBytes()).isEqualTo(4096);
        assertThat(s.peers()).containsOnlyKeys(2);
        assertThat(s.partitions()).containsOnlyKeys(1);
    }

    @Test
    void eachBadValueIsRefusedNamingItsKeyAndWhatIsAccepted() {
        assertThatThrownBy(() -> parse("nodeId", "70000")).hasMessage("nodeId: 70000 is out of range (0 to 65535)");
        assertThatThrownBy(() -> parse("nodeId", "-1")).hasMessageContaining("nodeId").hasMessageContaining("range");
        assertThatThrownBy(() -> parse("nodeId", "one")).hasMessage("nodeId: 'one' is not a whole number (0 to 65535)");
        assertThatThrownBy(() -> parse("maxQps", "0")).hasMessageContaining("maxQps: 0 is out of range");
        assertThatThrownBy(() -> parse("maxQps", "12.5")).hasMessageContaining("maxQps: '12.5' is not a whole");
        assertThatThrownBy(() -> parse("maxRegisteredBytes", "lots"))
                .hasMessageContaining("maxRegisteredBytes: 'lots'");
        assertThatThrownBy(() -> parse("chunkBytes", "1K"))
                .hasMessageContaining("chunkBytes: 1K is out of range (4096");
        assertThatThrownBy(() -> parse("maxMessageBytes", "4G")).hasMessageContaining("maxMessageBytes");
        // Checked here, not only when the limits are made: a cluster checks a quota before it sends it to every host.
        assertThatThrownBy(() -> parse("maxSge", "99")).hasMessage("maxSge: 99 is out of range (1 to 16)");
        assertThatThrownBy(() -> parse("nic", "eth0")).hasMessageContaining("nic: 'eth0' is not a NIC binding");
        assertThatThrownBy(() -> parse("peer.2", "nowhere")).hasMessageContaining("peer.2");
        assertThatThrownBy(() -> parse("nodeId", "2", "peer.2", "00:02")).hasMessageContaining("not ours");
        assertThatThrownBy(() -> parse("partition.zz", "web1")).hasMessageContaining("partition.zz");
    }
}
