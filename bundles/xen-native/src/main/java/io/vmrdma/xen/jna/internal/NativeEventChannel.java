package io.vmrdma.xen.jna.internal;

import com.sun.jna.Pointer;
import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.XenException;

/**
 * A {@code xenevtchn_handle}. Waiting is {@code poll} on {@code xenevtchn_fd} with a timeout, then
 * {@code xenevtchn_pending} (which would block with nothing queued). As with the C library, calls on one handle
 * must not race with its {@link #close()}.
 */
final class NativeEventChannel implements EventChannel {

    private final LibXenEvtchn lib;
    private final FdWaiter waiter;
    private final int fd;
    private volatile Pointer handle;

    private NativeEventChannel(LibXenEvtchn lib, Pointer handle, int fd) {
        this.lib = lib;
        this.handle = handle;
        this.fd = fd;
        this.waiter = new FdWaiter(fd, "xenevtchn_pending");
    }

    @Override
    public int pollFd() {
        return handle == null ? -1 : fd;
    }

    static NativeEventChannel open() throws XenException {
        LibXenEvtchn lib = XenLibraries.evtchn("xenevtchn_open");
        Pointer handle = lib.xenevtchn_open(null, 0);
        if (handle == null) {
            throw XenLibraries.openFailure("xenevtchn_open", "/dev/xen/evtchn");
        }
        return new NativeEventChannel(lib, handle, lib.xenevtchn_fd(handle));
    }

    @Override
    public int bindUnboundPort(int remoteDomid) throws XenException {
        int port = lib.xenevtchn_bind_unbound_port(handle("xenevtchn_bind_unbound_port"), remoteDomid);
        if (port == -1) {
            throw XenLibraries.failure("xenevtchn_bind_unbound_port", "for domain " + remoteDomid);
        }
        return port;
    }

    @Override
    public int bindInterdomain(int remoteDomid, int remotePort) throws XenException {
        int port = lib.xenevtchn_bind_interdomain(handle("xenevtchn_bind_interdomain"), remoteDomid, remotePort);
        if (port == -1) {
            throw XenLibraries.failure("xenevtchn_bind_interdomain",
                    "port " + remotePort + " of domain " + remoteDomid);
        }
        return port;
    }

    @Override
    public void notify(int port) throws XenException {
        if (lib.xenevtchn_notify(handle("xenevtchn_notify"), port) == -1) {
            throw XenLibraries.failure("xenevtchn_notify", "port " + port);
        }
    }

    @Override
    public int waitPending(long timeoutNanos) throws XenException {
        Pointer h = handle("xenevtchn_pending");
        if (!waiter.await(timeoutNanos)) {
            return -1;
        }
        int port = lib.xenevtchn_pending(h);
        if (port == -1) {
            throw XenLibraries.failure("xenevtchn_pending", "");
        }
        return port;
    }

    @Override
    public void unmask(int port) throws XenException {
        if (lib.xenevtchn_unmask(handle("xenevtchn_unmask"), port) == -1) {
            throw XenLibraries.failure("xenevtchn_unmask", "port " + port);
        }
    }

    @Override
    public void unbind(int port) throws XenException {
        if (lib.xenevtchn_unbind(handle("xenevtchn_unbind"), port) == -1) {
            throw XenLibraries.failure("xenevtchn_unbind", "port " + port);
        }
    }

    /** The kernel unbinds every port bound through the fd. */
    @Override
    public synchronized void close() throws XenException {
        Pointer h = handle;
        if (h == null) {
            return;
        }
        handle = null;
        if (lib.xenevtchn_close(h) == -1) {
            throw XenLibraries.failure("xenevtchn_close", "");
        }
    }

    private Pointer handle(String operation) throws XenException {
        Pointer h = handle;
        if (h == null) {
            throw XenLibraries.closed(operation);
        }
        return h;
    }
}
