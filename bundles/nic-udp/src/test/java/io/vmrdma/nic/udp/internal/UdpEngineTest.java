package io.vmrdma.nic.udp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;

import io.vmrdma.engine.testkit.TwoEngines;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Two engines, each with its own UDP port on the loopback interface, driven from one thread with a hand-advanced
 * clock (as the engine's own multi-node tests do over the loopback wire): a connection through the connection
 * manager, then a 1 MiB RDMA WRITE that must arrive byte-identical.
 */
class UdpEngineTest {

    @ParameterizedTest
    @CsvSource({"127.0.0.1, 8972", "127.0.0.1, 1472", "::1, 65507"})
    void anRdmaWriteOfOneMebibyteCrossesUdpByteIdentical(String loopback, int mtu) throws Exception {
        InetAddress ip = InetAddress.getByName(loopback);
        try (UdpPort portA = new UdpPort(UdpSettings.of(ip, 0).withMtu(mtu));
                UdpPort portB = new UdpPort(UdpSettings.of(ip, 0).withMtu(mtu))) {
            long retransmissions = new TwoEngines(portA, portB).rdmaWriteArrivesByteIdentical(1 << 20, mtu);
            assertThat(retransmissions).as("nothing lost on loopback").isZero();
            assertThat(portA.sendErrors() + portB.sendErrors() + portA.oversized() + portB.oversized()).isZero();
        }
    }
}
