package io.vmrdma.nic.udp.internal;

import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.nic.testkit.NicPortConformance;
import io.vmrdma.nic.udp.UdpAddress;

/** The NIC-port conformance suite on two UDP sockets on 127.0.0.1; a MAC address is no UDP endpoint. */
class UdpPortConformanceTest extends NicPortConformance {

    @Override
    protected Link link() {
        UdpPort a = port();
        UdpPort b = port();
        return new Link(a, b, LinkAddress.ofMac("02:00:00:00:00:09"), () -> {
            a.close();
            b.close();
        });
    }

    private static UdpPort port() {
        return new UdpPort(UdpSettings.of(UdpAddress.literal("127.0.0.1"), 0).withMtu(8972).withBatchSize(16));
    }
}
