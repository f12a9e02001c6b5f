package io.vmrdma.xen.jna.internal;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import io.vmrdma.api.xen.XenException;

/**
 * Waits for one fd to become readable with libc {@code poll} and a timeout, so a waiting thread can be stopped.
 * The {@code pollfd} lives in memory allocated once; a wait allocates nothing. One waiting thread per instance.
 */
final class FdWaiter {

    private final Memory pollFd = new Memory(PollFd.SIZE);
    private final String operation;

    FdWaiter(int fd, String operation) {
        this.operation = operation;
        pollFd.clear();
        pollFd.setInt(PollFd.FD, fd);
        pollFd.setShort(PollFd.EVENTS, LibC.POLLIN);
    }

    /**
     * True when the fd is readable (or in error, which the following read reports) within {@code timeoutNanos};
     * 0 or less polls once.
     */
    boolean await(long timeoutNanos) throws XenException {
        long start = System.nanoTime();
        long remaining = timeoutNanos;
        while (true) {
            pollFd.setShort(PollFd.REVENTS, (short) 0);
            int ready = LibC.INSTANCE.poll(pollFd, 1, millis(remaining));
            if (ready > 0) {
                return true;
            }
            if (ready == 0) {
                return false;
            }
            int errno = Native.getLastError();
            if (errno != LibC.EINTR) {
                throw new XenException(operation, errno, "poll on the library's fd");
            }
            remaining = timeoutNanos - (System.nanoTime() - start);
            if (remaining <= 0) {
                return false;
            }
        }
    }

    /** poll's timeout: whole milliseconds, rounded up so a short wait does not become a busy poll. */
    static int millis(long nanos) {
        if (nanos <= 0) {
            return 0;
        }
        long millis = nanos / 1_000_000 + (nanos % 1_000_000 == 0 ? 0 : 1);
        return (int) Math.min(millis, Integer.MAX_VALUE);
    }
}
