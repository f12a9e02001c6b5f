package io.vmrdma.nic.udp.internal;

import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.nic.testkit.NicPortConformance;
import io.vmrdma.nic.udp.UdpAddress;

/**
 * The NIC-port conformance suite on two UDP sockets on 127.0.0.1 with UDP_SEGMENT and UDP_GRO on (the defaults); a
 * MAC address is no UDP endpoint.
 */
class UdpPortConformanceTest extends NicPortConformance {

    @Override
    protected Link link() {
        UdpPort a = new UdpPort(settings());
        UdpPort b = new UdpPort(settings());
        return new Link(a, b, LinkAddress.ofMac("02:00:00:00:00:09"), () -> {
            a.close();
            b.close();
        });
    }

    UdpSettings settings() {
        return UdpSettings.of(UdpAddress.literal("127.0.0.1"), 0).withMtu(8972).withBatchSize(16);
    }
}
