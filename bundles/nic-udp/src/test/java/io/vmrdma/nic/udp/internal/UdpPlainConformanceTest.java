package io.vmrdma.nic.udp.internal;

/** The NIC-port conformance suite again with both offloads off: the fall back to plain datagrams. */
class UdpPlainConformanceTest extends UdpPortConformanceTest {

    @Override
    UdpSettings settings() {
        return super.settings().withOffloads(false, false);
    }
}
