package io.vmrdma.nic.socket;

import java.util.concurrent.locks.LockSupport;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * A wait until one socket has something to read, at most a given time ({@code ppoll}): how a binding lets the engine's
 * idle data agent sleep until a frame arrives instead of waking on a timer, alone or together with one more descriptor
 * (the hypervisor's event channel). Its {@code struct pollfd}s and {@code struct timespec} are laid out once, so a
 * wait allocates nothing. Used by one thread at a time.
 */
public final class ReceiveReadiness {

    private static final int POLLFD_SIZE = 8;
    private static final int EVENTS = 4;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    /**
     * Two {@code struct pollfd} (fd, events, revents): the socket's, then the other descriptor's; then one
     * {@code struct timespec} (seconds, nanoseconds).
     */
    private final Memory area = new Memory(2 * POLLFD_SIZE + 16);
    private final long pollfd = Pointer.nativeValue(area);
    private final long timespec = pollfd + 2 * POLLFD_SIZE;

    /** A wait on {@code fd}, a socket the caller keeps open while it waits. */
    public ReceiveReadiness(int fd) {
        area.clear();
        area.setInt(0, fd);
        area.setShort(EVENTS, SocketCalls.POLLIN);
        area.setShort(POLLFD_SIZE + EVENTS, SocketCalls.POLLIN);
    }

    /**
     * Returns once the socket has something to read (or an error to report), a signal interrupted the wait, or
     * {@code timeoutNanos} passed: a caller polls the socket afterwards either way. Where {@code ppoll} itself fails
     * (it cannot on a valid fd), the wait is a plain park, so the caller never spins.
     *
     * @return whether the socket was ready
     */
    public boolean await(long timeoutNanos) {
        return poll(1, timeoutNanos);
    }

    /**
     * As {@link #await}, and also returns once {@code otherFd} (open while the caller waits) has something to read.
     *
     * @return whether either was ready
     */
    public boolean awaitOr(int otherFd, long timeoutNanos) {
        area.setInt(POLLFD_SIZE, otherFd);
        return poll(2, timeoutNanos);
    }

    private boolean poll(int descriptors, long timeoutNanos) {
        long nanos = Math.max(0, timeoutNanos);
        area.setLong(2 * POLLFD_SIZE, nanos / NANOS_PER_SECOND);
        area.setLong(2 * POLLFD_SIZE + 8, nanos % NANOS_PER_SECOND);
        int ready = SocketCalls.ppoll(pollfd, descriptors, timespec, 0);
        if (ready < 0 && Native.getLastError() != SocketCalls.EINTR) {
            LockSupport.parkNanos(nanos);
            return false;
        }
        return ready > 0;
    }
}
