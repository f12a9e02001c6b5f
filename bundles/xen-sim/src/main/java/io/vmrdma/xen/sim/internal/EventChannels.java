package io.vmrdma.xen.sim.internal;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.xen.sim.internal.SimCounters.Counter;

/**
 * The control plane of Xen's event channels ({@code xen/common/event_channel.c}): per domain a port table; ports
 * are unbound (offered to one domain) or interdomain (linked to a peer port). Each port is one side of a channel,
 * a pair of FIFOs (see {@link ChannelPipes}): an unbound port gets a new channel, and the port that binds to it
 * takes the other side. Notify, mask and unmask never come here: the handles do them on the FIFOs themselves
 * ({@link io.vmrdma.xen.sim.internal.abi.EventPorts}), as Xen's notify is one hypercall with no reply.
 *
 * <p>One lock (this object) guards every table, so binding and unbinding across two domains is atomic.
 */
final class EventChannels {

    private static final int CLOSED = 0;
    private static final int UNBOUND = 1;
    private static final int INTERDOMAIN = 2;

    private final SimCounters counters;
    private final ChannelPipes pipes;
    private final Map<Integer, Ports> domains = new HashMap<>();

    EventChannels(SimCounters counters, ChannelPipes pipes) {
        this.counters = counters;
        this.pipes = pipes;
    }

    /** A port just bound, and the side of its channel it holds. */
    record Binding(int port, int channel, int side) {
    }

    /** The FIFO the port on {@code side} of {@code channel} waits on. */
    Path fifo(int channel, int side) {
        return pipes.fifo(channel, side);
    }

    /** A domain's port table: ports 1 to {@code maxPorts - 1} (port 0 is reserved). */
    synchronized void addDomain(int domid, int maxPorts) {
        domains.put(domid, new Ports(maxPorts));
    }

    /** Closes every port of a dying domain; interdomain peers go back to unbound, offered to it. */
    synchronized void removeDomain(int domid) {
        Ports ports = domains.get(domid);
        if (ports == null) {
            return;
        }
        for (int p = 1; p < ports.state.length; p++) {
            if (ports.state[p] != CLOSED) {
                close(domid, ports, p);
            }
        }
        domains.remove(domid);
    }

    synchronized Binding bindUnbound(EvtchnHandle handle, int remoteDomid) throws XenException {
        String op = "xenevtchn_bind_unbound_port";
        Ports ports = ports(handle, op);
        if (!domains.containsKey(remoteDomid)) {
            throw new XenException(op, XenErrno.ESRCH, "no domain " + remoteDomid);
        }
        int port = allocate(ports, op);
        ChannelPipes.Channel channel = pipes.create(op);
        channel.ports++;
        ports.state[port] = UNBOUND;
        ports.remoteDom[port] = remoteDomid;
        ports.owner[port] = handle;
        ports.channel[port] = channel;
        ports.side[port] = 0;
        return new Binding(port, channel.id, 0);
    }

    synchronized Binding bindInterdomain(EvtchnHandle handle, int remoteDomid, int remotePort)
            throws XenException {
        String op = "xenevtchn_bind_interdomain";
        Ports ports = ports(handle, op);
        Ports remote = domains.get(remoteDomid);
        if (remote == null) {
            throw new XenException(op, XenErrno.ESRCH, "no domain " + remoteDomid);
        }
        if (remotePort <= 0 || remotePort >= remote.state.length || remote.state[remotePort] != UNBOUND
                || remote.remoteDom[remotePort] != handle.domid()) {
            counters.increment(Counter.EVTCHN_BAD_PORT);
            throw new XenException(op, XenErrno.EINVAL,
                    "port " + remotePort + " of domain " + remoteDomid + " is not unbound and offered to us");
        }
        int port = allocate(ports, op);
        ports.state[port] = INTERDOMAIN;
        ports.remoteDom[port] = remoteDomid;
        ports.remotePort[port] = remotePort;
        ports.owner[port] = handle;
        remote.state[remotePort] = INTERDOMAIN;
        remote.remoteDom[remotePort] = handle.domid();
        remote.remotePort[remotePort] = port;
        ChannelPipes.Channel channel = remote.channel[remotePort];
        int side = 1 - remote.side[remotePort];
        channel.ports++;
        ports.channel[port] = channel;
        ports.side[port] = side;
        // Xen marks the binder's new port pending: one early event.
        channel.fire(side);
        return new Binding(port, channel.id, side);
    }

    /** Whether {@code port} of {@code domid} is unbound: interdomain once, its peer has let go. */
    synchronized boolean unbound(int domid, int port) {
        Ports ports = domains.get(domid);
        return ports != null && port > 0 && port < ports.state.length && ports.state[port] == UNBOUND;
    }

    synchronized void unbind(EvtchnHandle handle, int port) throws XenException {
        Ports ports = domains.get(handle.domid());
        if (ports == null || port <= 0 || port >= ports.state.length) {
            counters.increment(Counter.EVTCHN_BAD_PORT);
            throw new XenException("xenevtchn_unbind", XenErrno.EINVAL, "port " + port);
        }
        owned(handle, port, "xenevtchn_unbind", XenErrno.ENOTCONN);
        close(handle.domid(), ports, port);
    }

    /** Unbinds every port bound through {@code handle}, as closing the evtchn fd does. */
    synchronized void closeHandle(EvtchnHandle handle) {
        Ports ports = domains.get(handle.domid());
        if (ports == null) {
            return;
        }
        for (int p = 1; p < ports.state.length; p++) {
            if (ports.owner[p] == handle) {
                close(handle.domid(), ports, p);
            }
        }
    }

    private void close(int domid, Ports ports, int port) {
        if (ports.state[port] == INTERDOMAIN) {
            Ports remote = domains.get(ports.remoteDom[port]);
            int rp = ports.remotePort[port];
            if (remote != null && remote.state[rp] == INTERDOMAIN && remote.remoteDom[rp] == domid) {
                remote.state[rp] = UNBOUND;
                remote.remotePort[rp] = 0;
            }
        }
        if (--ports.channel[port].ports == 0) {
            ports.channel[port].delete();
        }
        ports.state[port] = CLOSED;
        ports.owner[port] = null;
        ports.channel[port] = null;
        ports.remoteDom[port] = 0;
        ports.remotePort[port] = 0;
    }

    private Ports ports(EvtchnHandle handle, String op) throws XenException {
        Ports ports = domains.get(handle.domid());
        if (ports == null) {
            throw new XenException(op, XenErrno.ESRCH, "domain " + handle.domid() + " is gone");
        }
        return ports;
    }

    private Ports owned(EvtchnHandle handle, int port, String op, int errno) throws XenException {
        Ports ports = ports(handle, op);
        if (port <= 0 || port >= ports.state.length || ports.owner[port] != handle) {
            counters.increment(Counter.EVTCHN_BAD_PORT);
            throw new XenException(op, errno, "port " + port + " is not bound through this handle");
        }
        return ports;
    }

    private static int allocate(Ports ports, String op) throws XenException {
        for (int p = 1; p < ports.state.length; p++) {
            if (ports.state[p] == CLOSED) {
                return p;
            }
        }
        throw new XenException(op, XenErrno.ENOSPC, "all " + (ports.state.length - 1) + " ports in use");
    }

    private static final class Ports {
        final int[] state;
        final int[] remoteDom;
        final int[] remotePort;
        final EvtchnHandle[] owner;
        /** The channel a port is one side of, and which side: it waits on that side's FIFO. */
        final ChannelPipes.Channel[] channel;
        final int[] side;

        Ports(int maxPorts) {
            state = new int[maxPorts];
            remoteDom = new int[maxPorts];
            remotePort = new int[maxPorts];
            owner = new EvtchnHandle[maxPorts];
            channel = new ChannelPipes.Channel[maxPorts];
            side = new int[maxPorts];
        }
    }
}
