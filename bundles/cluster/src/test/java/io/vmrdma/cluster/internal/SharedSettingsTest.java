package io.vmrdma.cluster.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Dictionary;
import java.util.Hashtable;

import org.junit.jupiter.api.Test;

class SharedSettingsTest {

    @Test
    void partitionsAndQuotasAreSharedTheHostsOwnKeysAreNot() {
        Dictionary<String, Object> engine = new Hashtable<>();
        engine.put("service.pid", "io.vmrdma.engine");
        engine.put("felix.fileinstall.filename", "file:/etc/io.vmrdma.engine.cfg");
        engine.put("nodeId", "3");
        engine.put("nic", "packet");
        engine.put("peer.2", "02:00:00:00:00:02");
        engine.put("discovery", "on");
        engine.put("partition.0x8001", "web1, web2");
        engine.put("maxQps", 256);
        engine.put("chunkBytes", "65536");
        engine.put("auth", "on");
        assertThat(SharedSettings.of("io.vmrdma.engine", engine)).containsExactly(
                java.util.Map.entry("auth", "on"), java.util.Map.entry("chunkBytes", "65536"),
                java.util.Map.entry("maxQps", "256"), java.util.Map.entry("partition.0x8001", "web1, web2"));
    }

    @Test
    void everyPerVmAndPolicyKeyIsSharedBindingsAreNot() {
        assertThat(SharedSettings.shared("io.vmrdma.sched.vm", "web1.weight")).isTrue();
        assertThat(SharedSettings.shared("io.vmrdma.sched", "policy")).isTrue();
        assertThat(SharedSettings.shared("io.vmrdma.sched", "service.pid")).isFalse();
        assertThat(SharedSettings.shared("io.vmrdma.nic.packet", "interfaceName")).isFalse();
        assertThat(SharedSettings.shared("io.vmrdma.cluster", "members")).isFalse();
    }
}
