package io.vmrdma.nic.socket;

import java.nio.ByteBuffer;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;

/**
 * How long each received frame had waited at this host before the engine polled it, from the kernel's receive
 * timestamps ({@code SO_TIMESTAMPNS}): the kernel stamps a frame when it reaches the host, and a poll reads the same
 * clock once as it begins, so the difference is the time the frame sat in the socket while the engine's thread did
 * other work or waited for a core. The engine takes it off the round trips it measures, so congestion control sees
 * the path's delay and not its own thread's scheduling.
 *
 * <p>A busy engine polls far more often than frames come (most polls of a bulk sender find nothing), so the
 * realtime clock is read only once a poll has returned frames ({@link #pollReturned}): the poll's start is then
 * that reading less the monotonic time the poll took, which the JVM reads without a native call.
 *
 * <p>A timestamp comes as a control message of the received message, after {@code msg_control}:
 *
 * <pre>
 *  cmsghdr: cmsg_len u64 (32) | cmsg_level i32 (SOL_SOCKET) | cmsg_type i32 (SCM_TIMESTAMPNS)
 *  data:    tv_sec i64 | tv_nsec i64                          (struct timespec, CLOCK_REALTIME)
 * </pre>
 *
 * The list is read as if it could hold anything: every length is checked against the room before it is followed,
 * and a list that cannot be trusted gives no wait. One instance per port, used by the port's thread only.
 */
public final class ReceiveTimestamps implements AutoCloseable {

    /** {@code SO_TIMESTAMPNS}, and {@code SCM_TIMESTAMPNS}, the type of the control message it adds (Linux). */
    public static final int SO_TIMESTAMPNS = 35;
    /** Room for the timestamp message and one more the kernel might add, per received message. */
    public static final int CONTROL_SPACE = 64;
    private static final int HEADER = 16;
    private static final int LEVEL = 8;
    private static final int TYPE = 12;
    private static final int TIMESPEC = 16;
    private static final int CLOCK_REALTIME = 0;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final Memory clock = new Memory(TIMESPEC);
    private final long clockAddress = Pointer.nativeValue(clock);
    private final boolean enabled;
    /** When the last poll began: on the monotonic clock, and on the realtime clock once it returned frames. */
    private long pollBeganMonotonicNanos;
    private long pollBeganNanos;

    /**
     * Asks the kernel to timestamp every frame {@code fd} receives. A kernel that refuses leaves the port without
     * waits ({@link #waitedNanos} is 0): the engine then counts its own thread's delay in its round trips, as before.
     */
    public ReceiveTimestamps(int fd) {
        Memory on = new Memory(4);
        on.setInt(0, 1);
        enabled = SocketCalls.setsockopt(fd, SocketCalls.SOL_SOCKET, SO_TIMESTAMPNS, Pointer.nativeValue(on), 4) == 0;
        on.close();
    }

    /** Whether the kernel stamps this socket's frames. */
    public boolean enabled() {
        return enabled;
    }

    /** A poll begins: notes the monotonic clock, for {@link #pollReturned} to date the poll's start. */
    public void pollBegins() {
        pollBeganMonotonicNanos = System.nanoTime();
    }

    /**
     * The poll that began at the last {@link #pollBegins} returned {@code frames}: when it returned any, dates its
     * start on the clock the kernel stamps frames with (one clock read), so {@link #waitedNanos} can tell their waits.
     */
    public void pollReturned(int frames) {
        if (enabled && frames > 0 && SocketCalls.clock_gettime(CLOCK_REALTIME, clockAddress) == 0) {
            long took = System.nanoTime() - pollBeganMonotonicNanos;
            pollBeganNanos = clock.getLong(0) * NANOS_PER_SECOND + clock.getLong(8) - took;
        }
    }

    /**
     * How long the frame whose {@code length} bytes of control messages are at {@code at} in {@code area} had waited
     * when the poll began (after {@link #pollReturned} said it returned frames); 0 without a timestamp, for a list that cannot be trusted, and for a frame stamped after
     * the poll began (it arrived during the receive call, or the clock was set back).
     */
    public long waitedNanos(ByteBuffer area, int at, int length) {
        if (!enabled) {
            return 0;
        }
        int offset = 0;
        while (length - offset >= HEADER) {
            long messageLength = area.getLong(at + offset);
            if (messageLength < HEADER || messageLength > length - offset) {
                return 0;
            }
            if (area.getInt(at + offset + LEVEL) == SocketCalls.SOL_SOCKET
                    && area.getInt(at + offset + TYPE) == SO_TIMESTAMPNS) {
                if (messageLength < HEADER + TIMESPEC) {
                    return 0;
                }
                long stamped = area.getLong(at + offset + HEADER) * NANOS_PER_SECOND
                        + area.getLong(at + offset + HEADER + 8);
                return Math.max(0, pollBeganNanos - stamped);
            }
            offset += (int) ((messageLength + 7) & ~7L);
        }
        return 0;
    }

    @Override
    public void close() {
        clock.close();
    }
}
