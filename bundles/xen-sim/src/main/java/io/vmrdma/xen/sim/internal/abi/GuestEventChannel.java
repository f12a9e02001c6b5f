package io.vmrdma.xen.sim.internal.abi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.xen.sim.guest.SimAbi;

/**
 * A guest's {@code xenevtchn} handle: binds and unbinds through one connection to its domain's hypercall socket,
 * notifies, waits and unmasks on the channel FIFOs with no simulator on the way.
 */
public final class GuestEventChannel implements EventChannel {

    private HypercallChannel channel;
    private Path channels;
    private final EventPorts ports;
    private final ByteBuffer args = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

    /** A handle over {@code channel}, whose FIFOs are in {@code channels}, for ports below {@code maxPorts}. */
    public GuestEventChannel(HypercallChannel channel, Path channels, int maxPorts) throws XenException {
        this.channel = channel;
        this.channels = channels;
        try {
            this.ports = new EventPorts(maxPorts);
        } catch (XenException e) {
            channel.close();
            throw e;
        }
    }

    @Override
    public synchronized int bindUnboundPort(int remoteDomid) throws XenException {
        args.clear().putInt(remoteDomid).flip();
        return bound(channel.call("xenevtchn_bind_unbound_port", SimAbi.OP_EVTCHN_BIND_UNBOUND, args));
    }

    @Override
    public synchronized int bindInterdomain(int remoteDomid, int remotePort) throws XenException {
        args.clear().putInt(remoteDomid).putInt(remotePort).flip();
        return bound(channel.call("xenevtchn_bind_interdomain", SimAbi.OP_EVTCHN_BIND_INTERDOMAIN, args));
    }

    /** Opens the FIFOs a bind's reply {port, channel, side} names; a port that cannot have them is unbound again. */
    private int bound(ByteBuffer reply) throws XenException {
        int port = reply.getInt(0);
        int id = reply.getInt(4);
        int side = reply.getInt(8) & 1;
        try {
            ports.bind(port, channels.resolve(id + "." + side), channels.resolve(id + "." + (1 - side)));
        } catch (XenException e) {
            args.clear().putInt(port).flip();
            channel.callRaw("xenevtchn_unbind", SimAbi.OP_EVTCHN_UNBIND, args);
            throw e;
        }
        return port;
    }

    @Override
    public void notify(int port) throws XenException {
        ports.notify(port);
    }

    @Override
    public int waitPending(long timeoutNanos) throws XenException {
        return ports.awaitFired(timeoutNanos);
    }

    @Override
    public void unmask(int port) {
        ports.unmask(port);
    }

    @Override
    public synchronized void unbind(int port) throws XenException {
        args.clear().putInt(port).flip();
        channel.call("xenevtchn_unbind", SimAbi.OP_EVTCHN_UNBIND, args);
        ports.unbind(port);
    }

    /**
     * After the domain moved: this handle goes on through {@code hypercall}, a connection to the new host, its FIFOs
     * in {@code channelsThere}; every port bound on the old host is gone, as a resumed guest's event channels are.
     */
    public synchronized void rebind(HypercallChannel hypercall, Path channelsThere) {
        ports.unbindAll();
        HypercallChannel old = channel;
        channel = hypercall;
        channels = channelsThere;
        old.close();
    }

    @Override
    public synchronized void close() {
        ports.close();
        channel.close();
    }
}
