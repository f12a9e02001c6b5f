package io.vmrdma.xen.sim.internal;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/** Whether a descriptor has something to read, by {@code poll(2)}: what a thread sleeping on it would see. */
public final class Readiness {

    private static final short POLLIN = 1;
    private static final C LIBC = Native.load(Platform.C_LIBRARY_NAME, C.class);

    private interface C extends Library {
        int poll(Pointer fds, long count, int timeoutMillis);
    }

    private Readiness() {
    }

    /** Whether {@code fd} becomes readable within {@code timeoutMillis} (0: whether it is now). */
    public static boolean readable(int fd, int timeoutMillis) {
        Memory pollFd = new Memory(8); // struct pollfd: int fd, short events, short revents
        pollFd.setInt(0, fd);
        pollFd.setShort(4, POLLIN);
        pollFd.setShort(6, (short) 0);
        return LIBC.poll(pollFd, 1, timeoutMillis) == 1 && (pollFd.getShort(6) & POLLIN) != 0;
    }
}
