package io.vmrdma.nic.packet.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmrdma.engine.testkit.TwoEngines;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Two engines on two hosts: each port is opened on a thread inside its own network namespace, the two joined by a
 * veth pair, and both engines are then driven from one thread with a hand-advanced clock (the sockets stay in
 * their namespaces). A connection through the connection manager, then a 1 MiB RDMA WRITE that must arrive
 * byte-identical; peers are addressed by MAC.
 */
class PacketEngineTest {

    @ParameterizedTest
    @ValueSource(ints = {1500, 9000, 65535})
    void anRdmaWriteOfOneMebibyteCrossesTheVethByteIdentical(int mtu) throws Exception {
        try (VethLink link = VethLink.create(mtu);
                PacketPort portA = link.a.call(() -> new PacketPort(PacketSettings.of(link.interfaceA)));
                PacketPort portB = link.b.call(() -> new PacketPort(PacketSettings.of(link.interfaceB)))) {
            long retransmissions = new TwoEngines(portA, portB).rdmaWriteArrivesByteIdentical(1 << 20, mtu);
            assertThat(retransmissions).as("nothing lost on a veth").isZero();
        }
    }
}
