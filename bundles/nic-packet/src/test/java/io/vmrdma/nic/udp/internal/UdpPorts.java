package io.vmrdma.nic.udp.internal;

import java.net.InetAddress;

/** Opens nic.udp ports for tests of other modules (the binding's settings are internal to its package). */
public final class UdpPorts {

    private UdpPorts() {
    }

    /** A port bound to {@code address}:{@code port} with an MTU of {@code mtu}, the binding's other defaults. */
    public static UdpPort open(InetAddress address, int port, int mtu) {
        return new UdpPort(UdpSettings.of(address, port).withMtu(mtu));
    }

    /** The same with UDP_SEGMENT and UDP_GRO each on ({@code true}, the default) or off. */
    public static UdpPort open(InetAddress address, int port, int mtu, boolean udpSegment, boolean udpGro) {
        return new UdpPort(UdpSettings.of(address, port).withMtu(mtu).withOffloads(udpSegment, udpGro));
    }
}
