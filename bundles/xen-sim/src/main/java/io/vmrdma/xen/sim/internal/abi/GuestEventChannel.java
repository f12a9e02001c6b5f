package io.vmrdma.xen.sim.internal.abi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.xen.sim.guest.SimAbi;

/** A guest's {@code xenevtchn} handle: one connection to its domain's hypercall socket. */
public final class GuestEventChannel implements EventChannel {

    private final HypercallChannel channel;
    private final ByteBuffer args = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

    public GuestEventChannel(HypercallChannel channel) {
        this.channel = channel;
    }

    @Override
    public synchronized int bindUnboundPort(int remoteDomid) throws XenException {
        args.clear().putInt(remoteDomid).flip();
        return channel.call("xenevtchn_bind_unbound_port", SimAbi.OP_EVTCHN_BIND_UNBOUND, args).getInt(0);
    }

    @Override
    public synchronized int bindInterdomain(int remoteDomid, int remotePort) throws XenException {
        args.clear().putInt(remoteDomid).putInt(remotePort).flip();
        return channel.call("xenevtchn_bind_interdomain", SimAbi.OP_EVTCHN_BIND_INTERDOMAIN, args).getInt(0);
    }

    @Override
    public synchronized void notify(int port) throws XenException {
        args.clear().putInt(port).flip();
        channel.call("xenevtchn_notify", SimAbi.OP_EVTCHN_NOTIFY, args);
    }

    @Override
    public int waitPending(long timeoutNanos) throws XenException {
        return channel.waitEvent(timeoutNanos);
    }

    @Override
    public synchronized void unmask(int port) throws XenException {
        args.clear().putInt(port).flip();
        channel.call("xenevtchn_unmask", SimAbi.OP_EVTCHN_UNMASK, args);
    }

    @Override
    public synchronized void unbind(int port) throws XenException {
        args.clear().putInt(port).flip();
        channel.call("xenevtchn_unbind", SimAbi.OP_EVTCHN_UNBIND, args);
    }

    @Override
    public void close() {
        channel.close();
    }
}
