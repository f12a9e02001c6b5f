package io.vmrdma.nic.packet.internal;

import io.vmrdma.api.nic.NicPort;

/**
 * A veth pair between two network namespaces with a nic.packet port open at each end, for tests in other packages
 * (the engine's, whose internals they reach): closing it closes the ports, then the link.
 */
public final class PacketLink implements AutoCloseable {

    private final VethLink link;
    private final PacketPort a;
    private final PacketPort b;

    private PacketLink(VethLink link, PacketPort a, PacketPort b) {
        this.link = link;
        this.a = a;
        this.b = b;
    }

    /** Makes the link at {@code mtu} and opens a port in each namespace. */
    public static PacketLink create(int mtu) {
        VethLink link = VethLink.create(mtu);
        PacketPort a = null;
        try {
            a = link.a.call(() -> new PacketPort(PacketSettings.of(link.interfaceA)));
            PacketPort opened = a;
            return new PacketLink(link, opened, link.b.call(() -> new PacketPort(PacketSettings.of(link.interfaceB))));
        } catch (RuntimeException e) {
            if (a != null) {
                a.close();
            }
            link.close();
            throw e;
        }
    }

    public NicPort portA() {
        return a;
    }

    public NicPort portB() {
        return b;
    }

    @Override
    public void close() {
        a.close();
        b.close();
        link.close();
    }
}
