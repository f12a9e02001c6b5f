package io.vmrdma.xen.sim.internal.abi;

import java.nio.file.Path;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;

/**
 * The ports of one event-channel handle as ABI version 2 makes them (docs/sim-abi.md §4.4): each bound port has a
 * FIFO it waits on and its peer's FIFO it notifies through. A byte in a port's FIFO is its pending bit, so a notify
 * is one non-blocking {@code write} that sets it and wakes the waiter, with no hypervisor on the way. The waiter
 * keeps its ports in an epoll set with one-shot entries: an entry that fired is disabled until re-armed, which is
 * the port's mask, and re-arming a port whose FIFO filled meanwhile fires it at once, so no wake-up is lost.
 *
 * <p>Thread-safe: one thread may wait while others notify, unmask, bind or unbind.
 */
public final class EventPorts implements AutoCloseable {

    /** epoll data of the eventfd that ends a wait when the handle closes; port 0 is never bound. */
    private static final int CLOSING = 0;
    private static final int DRAIN_BYTES = 4096;
    /** Reads that empty a FIFO at most: a pipe's default 64 KiB, so a peer writing without pause cannot hold us. */
    private static final int DRAIN_READS = 16;
    private static final Pointer ONE = LibC.one();

    private final int epoll;
    private final int closing;
    private final int[] waitFd;
    private final int[] notifyFd;
    /** Native memory for the calls, so that no Java array is copied in and out on the way to a wake-up. */
    private final Memory fired = new Memory(LibC.EPOLL_EVENT_LENGTH);
    private final Memory ctl = new Memory(LibC.EPOLL_EVENT_LENGTH);
    private final Memory drain = new Memory(DRAIN_BYTES);
    private final Memory timeout = new Memory(16);
    private int waiters;
    /** Written under the handle's lock; volatile for {@link #pollFd}, which the data agent reads every sleep. */
    private volatile boolean closed;

    /** A handle for ports 1 to {@code maxPorts - 1}. */
    public EventPorts(int maxPorts) throws XenException {
        waitFd = new int[maxPorts];
        notifyFd = new int[maxPorts];
        epoll = LibC.epoll_create1(LibC.EPOLL_CLOEXEC);
        if (epoll < 0) {
            throw new XenException("xenevtchn_open", LibC.errno(), "epoll_create1");
        }
        closing = LibC.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC);
        if (closing < 0 || control(LibC.EPOLL_CTL_ADD, closing, LibC.EPOLLIN, CLOSING) < 0) {
            int errno = LibC.errno();
            LibC.close(epoll);
            throw new XenException("xenevtchn_open", errno, "eventfd");
        }
    }

    /**
     * Makes {@code port} bound through this handle: it waits on {@code waitOn} and notifies into {@code notifyInto}
     * (the two FIFOs of its channel, docs/sim-abi.md §4.4). Armed at once: a byte already waiting fires it.
     */
    public synchronized void bind(int port, Path waitOn, Path notifyInto) throws XenException {
        if (closed) {
            throw new XenException("xenevtchn_bind", XenErrno.EINVAL, "handle closed");
        }
        int w = openFifo(waitOn);
        int n = openFifo(notifyInto);
        if (w < 0 || n < 0 || control(LibC.EPOLL_CTL_ADD, w, LibC.EPOLLIN | LibC.EPOLLONESHOT, port) < 0) {
            int errno = LibC.errno();
            LibC.close(w);
            LibC.close(n);
            throw new XenException("xenevtchn_bind", errno, "channel FIFOs " + waitOn + ", " + notifyInto);
        }
        waitFd[port] = w;
        notifyFd[port] = n;
    }

    /** Whether {@code port} is bound through this handle. */
    public synchronized boolean bound(int port) {
        return port > 0 && port < waitFd.length && waitFd[port] > 0;
    }

    /** Forgets a port: its FIFOs are closed, it can fire no more. */
    public synchronized void unbind(int port) {
        if (bound(port)) {
            control(LibC.EPOLL_CTL_DEL, waitFd[port], 0, port);
            LibC.close(waitFd[port]);
            LibC.close(notifyFd[port]);
            waitFd[port] = 0;
            notifyFd[port] = 0;
        }
    }

    /** Forgets every port: after a move, the channels of the host the domain left are not its any more. */
    public synchronized void unbindAll() {
        for (int port = 1; port < waitFd.length; port++) {
            unbind(port);
        }
    }

    /**
     * Sets the peer's pending bit and wakes it: one byte into its FIFO. A full FIFO means the peer is pending
     * already, so the notification merges.
     *
     * @throws XenException ENOTCONN when the port is not bound through this handle
     */
    public synchronized void notify(int port) throws XenException {
        if (!bound(port)) {
            throw new XenException("xenevtchn_notify", XenErrno.ENOTCONN, "port " + port + " is not bound here");
        }
        if (LibC.write(notifyFd[port], ONE, 1) < 0 && LibC.errno() != LibC.EAGAIN) {
            throw new XenException("xenevtchn_notify", LibC.errno(), "write to the peer's FIFO");
        }
    }

    /** Re-arms a port's one-shot entry; pending since it fired, it fires again at once. Unknown ports are ignored. */
    public synchronized void unmask(int port) {
        if (bound(port)) {
            control(LibC.EPOLL_CTL_MOD, waitFd[port], LibC.EPOLLIN | LibC.EPOLLONESHOT, port);
        }
    }

    /**
     * Waits up to {@code timeoutNanos} (0 only looks, {@code Long.MAX_VALUE} without end) for a port to fire, clears
     * its pending bit and returns it, masked; -1 on timeout.
     */
    /** The epoll set of the ports: readable while one of them has fired and is not masked. */
    public int pollFd() {
        return closed ? -1 : epoll;
    }

    public int awaitFired(long timeoutNanos) throws XenException {
        Memory event;
        Memory t;
        synchronized (this) {
            if (closed) {
                throw new XenException("xenevtchn_pending", XenErrno.EINVAL, "handle closed");
            }
            // The usual single waiter uses the handle's memory; a concurrent one brings its own.
            boolean first = waiters++ == 0;
            event = first ? fired : new Memory(LibC.EPOLL_EVENT_LENGTH);
            t = timeoutNanos == Long.MAX_VALUE ? null : first ? timeout : new Memory(16);
        }
        if (t != null) {
            t.setLong(0, Math.max(0, timeoutNanos) / 1_000_000_000L);
            t.setLong(8, Math.max(0, timeoutNanos) % 1_000_000_000L);
        }
        int n = LibC.epoll_pwait2(epoll, event, 1, t, null);
        int errno = n < 0 ? LibC.errno() : 0;
        synchronized (this) {
            int port = n > 0 ? (int) event.getLong(4) : -1;
            if (--waiters == 0 && closed) {
                release();
            }
            if (port == CLOSING || closed) {
                throw new XenException("xenevtchn_pending", XenErrno.EINVAL, "handle closed");
            }
            if (n < 0 && errno != LibC.EINTR) {
                throw new XenException("xenevtchn_pending", errno, "epoll_pwait2");
            }
            if (port < 0 || !bound(port)) {
                return -1; // timed out, or unbound between the wake-up and here
            }
            // A port notified many times while masked holds one byte per notification.
            for (int reads = 0; reads < DRAIN_READS
                    && LibC.read(waitFd[port], drain, DRAIN_BYTES) == DRAIN_BYTES; reads++) {
                // what stays is still pending: it fires again when unmasked
            }
            return port;
        }
    }

    /** Unbinds every port and ends any wait; the epoll set goes with the last waiter. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        for (int p = 1; p < waitFd.length; p++) {
            unbind(p);
        }
        closed = true;
        LibC.write(closing, ONE, 8);
        if (waiters == 0) {
            release();
        }
    }

    private void release() {
        LibC.close(epoll);
        LibC.close(closing);
    }

    private int control(int op, int fd, int events, int port) {
        ctl.setInt(0, events);
        ctl.setLong(4, port);
        return LibC.epoll_ctl(epoll, op, fd, ctl);
    }

    private static int openFifo(Path fifo) {
        // Read and write: never blocks on a FIFO (Linux), never sees end-of-file, and writes never raise SIGPIPE.
        return LibC.open(fifo.toString(), LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
    }
}
