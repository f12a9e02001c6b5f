package io.vmrdma.xen.sim.internal.abi;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * The few libc calls Java cannot make: mmap at a chosen address and munmap on demand (Java's
 * {@code FileChannel.map} can neither place pages next to each other nor release them deterministically), and the
 * FIFOs, eventfd and epoll that event channels are made of (Java has no mkfifo, and its selectors take no FIFO).
 */
public final class LibC {
    public static final int O_RDWR = 2;
    static final int O_RDONLY = 0;
    public static final int O_CLOEXEC = 0x80000;
    static final int PROT_NONE = 0;
    static final int PROT_READ = 1;
    static final int PROT_WRITE = 2;
    static final int MAP_SHARED = 0x01;
    static final int MAP_PRIVATE = 0x02;
    static final int MAP_FIXED = 0x10;
    static final int MAP_ANONYMOUS = 0x20;
    static final int MAP_NORESERVE = 0x4000;
    static final long MAP_FAILED = -1L;
    public static final int O_NONBLOCK = 0x800;
    static final int EAGAIN = 11;
    static final int EINTR = 4;
    static final int EFD_NONBLOCK = 0x800;
    static final int EFD_CLOEXEC = 0x80000;
    static final int EPOLL_CLOEXEC = 0x80000;
    static final int EPOLL_CTL_ADD = 1;
    static final int EPOLL_CTL_DEL = 2;
    static final int EPOLL_CTL_MOD = 3;
    static final int EPOLLIN = 0x1;
    static final int EPOLLONESHOT = 1 << 30;
    /** {@code struct epoll_event} is packed on x86-64: u32 events, u64 data. */
    static final int EPOLL_EVENT_LENGTH = 12;

    static {
        Native.register(NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    private LibC() {
    }

    public static native int open(String path, int flags);

    public static native int close(int fd);

    public static native int mkfifo(String path, int mode);

    static native long read(int fd, Pointer buffer, long count);

    public static native long write(int fd, Pointer buffer, long count);

    static native int eventfd(int initval, int flags);

    static native int epoll_create1(int flags);

    static native int epoll_ctl(int epfd, int op, int fd, Pointer event);

    /** {@code timeout} is a {@code struct timespec} {seconds, nanoseconds}, or null to wait without end. */
    static native int epoll_pwait2(int epfd, Pointer events, int maxEvents, Pointer timeout, Pointer sigmask);

    /** A native {@code u64} 1: its first byte is what a notify writes into a FIFO, all eight an eventfd's add. */
    public static Memory one() {
        Memory one = new Memory(8);
        one.setLong(0, 1);
        return one;
    }

    static native Pointer mmap(Pointer address, long length, int prot, int flags, int fd, long offset);

    static native int munmap(Pointer address, long length);

    public static int errno() {
        return Native.getLastError();
    }
}
