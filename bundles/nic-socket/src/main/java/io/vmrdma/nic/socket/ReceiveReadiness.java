package io.vmrdma.nic.socket;

import java.util.concurrent.locks.LockSupport;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * A wait until one socket has something to read, at most a given time ({@code ppoll}): how a binding lets the engine's
 * idle data agent sleep until a frame arrives instead of waking on a timer, alone or together with one more descriptor
 * (the hypervisor's event channel). Another thread can end the wait ({@link #wake}): an {@code eventfd} of its own
 * beside the socket, which keeps a wake that comes before the wait, so the wait that follows returns at once and no
 * wake is lost. The {@code struct pollfd}s and the {@code struct timespec} are laid out once, so a wait allocates
 * nothing. Waited on by one thread at a time; woken from any.
 */
public final class ReceiveReadiness implements AutoCloseable {

    private static final int POLLFD_SIZE = 8;
    private static final int EVENTS = 4;
    private static final int REVENTS = 6;
    private static final int SOCKET = 0;
    private static final int WAKE = POLLFD_SIZE;
    private static final int OTHER = 2 * POLLFD_SIZE;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final long EVENTFD_WORD = 8;

    /**
     * Three {@code struct pollfd} (fd, events, revents): the socket's, the eventfd's, then the other descriptor's; then
     * one {@code struct timespec} (seconds, nanoseconds) and the waiter's eventfd word.
     */
    private final Memory area = new Memory(3 * POLLFD_SIZE + 16 + EVENTFD_WORD);
    private final long pollfd = Pointer.nativeValue(area);
    private final long timespec = pollfd + 3 * POLLFD_SIZE;
    private final long drained = timespec + 16;
    /** The value a wake adds to the eventfd: its own memory, since wakers are other threads than the waiter. */
    private final Memory one = new Memory(EVENTFD_WORD);
    private final int wakeFd;
    private boolean closed;

    /**
     * A wait on {@code fd}, a socket the caller keeps open while it waits.
     *
     * @throws IllegalStateException when the kernel gives no eventfd (the process is out of descriptors)
     */
    public ReceiveReadiness(int fd) {
        wakeFd = SocketCalls.eventfd(0, SocketCalls.EFD_NONBLOCK | SocketCalls.EFD_CLOEXEC);
        if (wakeFd < 0) {
            throw new IllegalStateException("no eventfd for the socket's wait: "
                    + SocketCalls.error(Native.getLastError()));
        }
        area.clear();
        area.setInt(SOCKET, fd);
        area.setShort(SOCKET + EVENTS, SocketCalls.POLLIN);
        area.setInt(WAKE, wakeFd);
        area.setShort(WAKE + EVENTS, SocketCalls.POLLIN);
        area.setShort(OTHER + EVENTS, SocketCalls.POLLIN);
        one.setLong(0, 1);
    }

    /**
     * Returns once the socket has something to read (or an error to report), a {@link #wake} came since the last
     * wait, a signal interrupted the wait, or {@code timeoutNanos} passed: a caller polls the socket afterwards either
     * way. Where {@code ppoll} itself fails (it cannot on valid descriptors), the wait is a plain park, so the caller
     * never spins.
     *
     * @return whether the socket was ready
     */
    public boolean await(long timeoutNanos) {
        poll(2, timeoutNanos);
        return ready(SOCKET);
    }

    /**
     * As {@link #await}, and also returns once {@code otherFd} (open while the caller waits) has something to read.
     *
     * @return whether either was ready
     */
    public boolean awaitOr(int otherFd, long timeoutNanos) {
        area.setInt(OTHER, otherFd);
        poll(3, timeoutNanos);
        return ready(SOCKET) || ready(OTHER);
    }

    private void poll(int descriptors, long timeoutNanos) {
        long nanos = Math.max(0, timeoutNanos);
        area.setLong(3 * POLLFD_SIZE, nanos / NANOS_PER_SECOND);
        area.setLong(3 * POLLFD_SIZE + 8, nanos % NANOS_PER_SECOND);
        int ready = SocketCalls.ppoll(pollfd, descriptors, timespec, 0);
        if (ready < 0) {
            // Nothing was ready: revents are left as the last poll wrote them.
            area.setShort(SOCKET + REVENTS, (short) 0);
            area.setShort(WAKE + REVENTS, (short) 0);
            area.setShort(OTHER + REVENTS, (short) 0);
            if (Native.getLastError() != SocketCalls.EINTR) {
                LockSupport.parkNanos(nanos);
            }
        } else if (ready(WAKE)) {
            // Spent here, before the caller looks for work: a wake that comes after this read is kept for the next
            // wait, and the work handed over before it is what the caller finds next.
            SocketCalls.read(wakeFd, drained, EVENTFD_WORD);
        }
        if (descriptors < 3) {
            area.setShort(OTHER + REVENTS, (short) 0);
        }
    }

    private boolean ready(int at) {
        return area.getShort(at + REVENTS) != 0;
    }

    /**
     * Ends the {@link #await} or {@link #awaitOr} in progress at once, or the next one if none is in progress; any
     * thread. Does nothing once closed: the descriptor's number may belong to something else by then.
     */
    public synchronized void wake() {
        if (!closed) {
            SocketCalls.write(wakeFd, Pointer.nativeValue(one), EVENTFD_WORD);
        }
    }

    /** Closes the eventfd; the socket stays the caller's. No wait may be in progress or follow. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            SocketCalls.close(wakeFd);
        }
    }
}
