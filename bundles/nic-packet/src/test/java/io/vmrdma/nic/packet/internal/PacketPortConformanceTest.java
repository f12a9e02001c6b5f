package io.vmrdma.nic.packet.internal;

import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.nic.testkit.NicPortConformance;

/**
 * The NIC-port conformance suite on the two ends of a veth pair between two network namespaces (needs root); the
 * unreachable address is a MAC that neither end has.
 */
class PacketPortConformanceTest extends NicPortConformance {

    @Override
    protected Link link() {
        VethLink veth = VethLink.create(9000);
        PacketPort a = null;
        try {
            a = veth.a.call(() -> new PacketPort(PacketSettings.of(veth.interfaceA)));
            PacketPort b = veth.b.call(() -> new PacketPort(PacketSettings.of(veth.interfaceB)));
            PacketPort first = a;
            // Ports first: their sockets must be closed before their namespaces go.
            return new Link(a, b, LinkAddress.ofMac("02:00:00:00:00:09"), () -> {
                first.close();
                b.close();
                veth.close();
            });
        } catch (RuntimeException e) {
            if (a != null) {
                a.close();
            }
            veth.close();
            throw e;
        }
    }
}
