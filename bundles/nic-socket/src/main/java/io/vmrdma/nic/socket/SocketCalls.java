package io.vmrdma.nic.socket;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

/**
 * The libc socket calls of the NIC bindings, bound with JNA direct mapping: no argument arrays, no boxing, so the
 * per-batch calls allocate nothing; pointers are raw addresses ({@code long}) for the same reason. A call that
 * returns -1 leaves its errno in {@link Native#getLastError()}.
 *
 * <p>Constants are Linux's (x86_64 and aarch64 agree on all of them); those of one address family stay with its
 * binding.
 */
public final class SocketCalls {

    public static final int SOCK_NONBLOCK = 0x800;
    public static final int SOCK_CLOEXEC = 0x80000;

    public static final int SOL_SOCKET = 1;
    public static final int SO_SNDBUF = 7;
    public static final int SO_RCVBUF = 8;

    public static final int MSG_TRUNC = 0x20;
    public static final int MSG_DONTWAIT = 0x40;

    /** {@code struct pollfd} events: data to read. */
    public static final short POLLIN = 0x1;

    /** {@code eventfd} flags: the same bits as {@link #SOCK_NONBLOCK} and {@link #SOCK_CLOEXEC}. */
    public static final int EFD_NONBLOCK = SOCK_NONBLOCK;
    public static final int EFD_CLOEXEC = SOCK_CLOEXEC;

    public static final int EINTR = 4;
    public static final int EAGAIN = 11;
    public static final int ENOBUFS = 105;

    static {
        Native.register(SocketCalls.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    private SocketCalls() {
    }

    public static native int socket(int domain, int type, int protocol);

    public static native int bind(int fd, long address, int addressLength);

    /** {@code addressLength} points to a socklen_t: the room in, the length written out. */
    public static native int getsockname(int fd, long address, long addressLength);

    public static native int setsockopt(int fd, int level, int name, long value, int valueLength);

    /** {@code valueLength} points to a socklen_t: the room in, the length written out. */
    public static native int getsockopt(int fd, int level, int name, long value, long valueLength);

    public static native int sendmmsg(int fd, long messages, int count, int flags);

    public static native int recvmmsg(int fd, long messages, int count, int flags, long timeout);

    /**
     * Waits until one of {@code count} {@code struct pollfd} at {@code fds} is ready or the {@code struct timespec} at
     * {@code timeout} passes; {@code sigmask} 0 keeps the thread's signal mask.
     */
    public static native int ppoll(long fds, long count, long timeout, long sigmask);

    public static native int close(int fd);

    /** A kernel counter that {@link #ppoll} sees readable while it is not zero; -1 and errno on failure. */
    public static native int eventfd(int initialValue, int flags);

    /** Reads up to {@code count} bytes into {@code buffer}; -1 and errno on failure. */
    public static native long read(int fd, long buffer, long count);

    /** Writes {@code count} bytes from {@code buffer}; -1 and errno on failure. */
    public static native long write(int fd, long buffer, long count);

    /** Reads {@code clock} into the {@code struct timespec} at {@code timespec} (from the vDSO: no system call). */
    public static native int clock_gettime(int clock, long timespec);

    public static native String strerror(int errno);

    /** {@code errno} for people: {@code Invalid argument (errno 22)}. */
    public static String error(int errno) {
        return strerror(errno) + " (errno " + errno + ")";
    }
}
