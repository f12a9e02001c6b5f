package io.vmrdma.xen.sim.internal.abi;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * The few libc calls Java cannot make: mmap at a chosen address and munmap on demand. Java's
 * {@code FileChannel.map} can neither place pages next to each other nor release them deterministically.
 */
final class LibC {
    static final int O_RDWR = 2;
    static final int O_RDONLY = 0;
    static final int O_CLOEXEC = 0x80000;
    static final int PROT_NONE = 0;
    static final int PROT_READ = 1;
    static final int PROT_WRITE = 2;
    static final int MAP_SHARED = 0x01;
    static final int MAP_PRIVATE = 0x02;
    static final int MAP_FIXED = 0x10;
    static final int MAP_ANONYMOUS = 0x20;
    static final int MAP_NORESERVE = 0x4000;
    static final long MAP_FAILED = -1L;

    static {
        Native.register(NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    private LibC() {
    }

    static native int open(String path, int flags);

    static native int close(int fd);

    static native Pointer mmap(Pointer address, long length, int prot, int flags, int fd, long offset);

    static native int munmap(Pointer address, long length);

    static int errno() {
        return Native.getLastError();
    }
}
