package io.vmrdma.xen.sim.internal.abi;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.vmrdma.api.xen.XenException;

/**
 * What libxenstore's watch pipe is to {@code xs_fileno}: an eventfd that has something to read while fired watches
 * wait in a client's queue, for a thread that sleeps on it beside other descriptors. Raised for every event queued,
 * lowered by the reader that found the queue empty (before it looks once more, so an event queued meanwhile raises
 * it again). Closing it under a thread that raises it is safe: a closed signal ignores both.
 */
final class WatchSignal {

    private static final Pointer ONE = LibC.one();

    private final Memory drain = new Memory(8);
    private volatile int fd;

    private WatchSignal(int fd) {
        this.fd = fd;
    }

    static WatchSignal open() throws XenException {
        int fd = LibC.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC);
        if (fd < 0) {
            throw new XenException("xs_fileno", LibC.errno(), "eventfd");
        }
        return new WatchSignal(fd);
    }

    /** The descriptor, -1 once closed. */
    int fd() {
        return fd;
    }

    /** An event waits: the descriptor becomes readable. */
    synchronized void raise() {
        if (fd >= 0) {
            LibC.write(fd, ONE, 8);
        }
    }

    /** No event waits (as far as the caller saw): the descriptor stops being readable. */
    synchronized void lower() {
        if (fd >= 0) {
            LibC.read(fd, drain, 8); // EAGAIN when it was not raised: nothing to take
        }
    }

    synchronized void close() {
        if (fd >= 0) {
            LibC.close(fd);
            fd = -1;
        }
    }
}
