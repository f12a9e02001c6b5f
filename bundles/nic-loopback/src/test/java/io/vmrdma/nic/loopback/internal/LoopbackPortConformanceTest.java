package io.vmrdma.nic.loopback.internal;

import io.vmrdma.nic.testkit.NicPortConformance;

/** The NIC-port conformance suite on two ports of one in-memory wire. */
class LoopbackPortConformanceTest extends NicPortConformance {

    @Override
    protected Link link() {
        LoopbackWire wire = new LoopbackWire();
        LoopbackPort a = new LoopbackPort(wire, 1, 9000, 1 << 20);
        LoopbackPort b = new LoopbackPort(wire, 2, 9000, 1 << 20);
        return new Link(a, b, wire.address(900), () -> {
            a.close();
            b.close();
        });
    }
}
