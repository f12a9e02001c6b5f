package io.vmrdma.api.xen;

/**
 * An event-channel handle, as {@code libxenevtchn}. A port that fires is masked until {@link #unmask}; further
 * notifications while masked merge into one.
 */
public interface EventChannel extends AutoCloseable {

    /** Allocates a port that {@code remoteDomid} may bind to, as {@code xenevtchn_bind_unbound_port}. */
    int bindUnboundPort(int remoteDomid) throws XenException;

    /**
     * Binds a local port to {@code remotePort} of {@code remoteDomid}, as {@code xenevtchn_bind_interdomain}.
     * The new local port is pending once right away.
     *
     * @throws XenException ESRCH for an unknown domain, EINVAL when the remote port is not unbound and offered to us
     */
    int bindInterdomain(int remoteDomid, int remotePort) throws XenException;

    /** Signals the peer of a bound local port; a peer that unbound just drops it. ENOTCONN for an unknown port. */
    void notify(int port) throws XenException;

    /**
     * Waits up to {@code timeoutNanos} for a port to fire and returns it (masked), or -1 on timeout; 0 polls.
     * As {@code poll} on {@code xenevtchn_fd} then {@code xenevtchn_pending}.
     */
    int waitPending(long timeoutNanos) throws XenException;

    /**
     * A file descriptor that has something to read while a port is pending, as {@code xenevtchn_fd}: for a caller that
     * sleeps on it beside other descriptors, then takes the port with {@code waitPending(0)}. -1 when there is none
     * (the default). Since 0.5.0 of this package.
     */
    default int pollFd() {
        return -1;
    }

    /** Re-enables delivery on {@code port}; if it fired while masked it fires again. */
    void unmask(int port) throws XenException;

    /** Unbinds a port; the peer's end returns to unbound. */
    void unbind(int port) throws XenException;

    /**
     * Whether the other end of interdomain {@code port} has let go of it (unbound it, or its process or domain
     * ended): Xen's {@code EVTCHNOP_status} then says unbound for a port that was interdomain. A backend learns this
     * way that the process using a device is gone. False when the implementation cannot tell.
     */
    default boolean peerClosed(int port) {
        return false;
    }

    /** Closes the handle and unbinds every port bound through it. */
    @Override
    void close() throws XenException;
}
