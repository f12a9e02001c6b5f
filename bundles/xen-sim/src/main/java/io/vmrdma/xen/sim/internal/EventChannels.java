package io.vmrdma.xen.sim.internal;

import java.util.HashMap;
import java.util.Map;

import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.xen.sim.internal.SimCounters.Counter;

/**
 * Xen's 2-level event channels with Linux's evtchn device on top ({@code xen/common/event_channel.c},
 * {@code drivers/xen/evtchn.c}): per domain a port table; ports are unbound (offered to one domain) or
 * interdomain (linked to a peer port). A port that fires while enabled is masked and queued once on its handle;
 * while masked, further events only set its pending bit; unmask re-delivers a pending port. So events merge but
 * are never lost, and each port sits in its handle's queue at most once.
 *
 * <p>One lock (this object) guards every table, so binding and notifying across two domains is atomic.
 */
final class EventChannels {

    private static final int CLOSED = 0;
    private static final int UNBOUND = 1;
    private static final int INTERDOMAIN = 2;

    private final SimCounters counters;
    private final Map<Integer, Ports> domains = new HashMap<>();

    EventChannels(SimCounters counters) {
        this.counters = counters;
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

    synchronized int bindUnbound(EvtchnHandle handle, int remoteDomid) throws XenException {
        Ports ports = ports(handle, "xenevtchn_bind_unbound_port");
        if (!domains.containsKey(remoteDomid)) {
            throw new XenException("xenevtchn_bind_unbound_port", XenErrno.ESRCH, "no domain " + remoteDomid);
        }
        int port = allocate(ports, "xenevtchn_bind_unbound_port");
        ports.state[port] = UNBOUND;
        ports.remoteDom[port] = remoteDomid;
        ports.owner[port] = handle;
        return port;
    }

    synchronized int bindInterdomain(EvtchnHandle handle, int remoteDomid, int remotePort) throws XenException {
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
        // Xen marks the binder's new port pending: one early event.
        fire(ports, port);
        return port;
    }

    synchronized void notify(EvtchnHandle handle, int port) throws XenException {
        Ports ports = owned(handle, port, "xenevtchn_notify", XenErrno.ENOTCONN);
        if (ports.state[port] == INTERDOMAIN) {
            Ports remote = domains.get(ports.remoteDom[port]);
            if (remote != null) {
                fire(remote, ports.remotePort[port]);
            }
        }
    }

    synchronized void unmask(EvtchnHandle handle, int port) {
        Ports ports = domains.get(handle.domid());
        if (ports == null || port <= 0 || port >= ports.state.length || ports.owner[port] != handle) {
            return; // unknown ports are silently ignored, as the evtchn device does
        }
        ports.masked[port] = false;
        if (ports.pending[port]) {
            ports.pending[port] = false;
            ports.masked[port] = true;
            handle.deliver(port);
        }
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

    private void fire(Ports ports, int port) {
        if (ports.state[port] == CLOSED) {
            return;
        }
        if (ports.masked[port]) {
            ports.pending[port] = true;
        } else {
            ports.masked[port] = true;
            ports.owner[port].deliver(port);
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
        ports.state[port] = CLOSED;
        ports.owner[port] = null;
        ports.pending[port] = false;
        ports.masked[port] = false;
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
        final boolean[] pending;
        final boolean[] masked;
        final EvtchnHandle[] owner;

        Ports(int maxPorts) {
            state = new int[maxPorts];
            remoteDom = new int[maxPorts];
            remotePort = new int[maxPorts];
            pending = new boolean[maxPorts];
            masked = new boolean[maxPorts];
            owner = new EvtchnHandle[maxPorts];
        }
    }
}
