package io.vmrdma.nic.packet.internal;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

/**
 * The libc calls an AF_PACKET port makes, bound with JNA direct mapping: no argument arrays, no boxing, so the
 * per-batch calls allocate nothing. Pointers are passed as raw addresses ({@code long}) for the same reason.
 * A call that returns -1 leaves its errno in {@link Native#getLastError()}.
 *
 * <p>Constants are Linux's (x86_64 and aarch64 agree on all of them).
 */
final class Libc {

    static final int AF_PACKET = 17;
    static final int SOCK_RAW = 3;
    static final int SOCK_NONBLOCK = 0x800;
    static final int SOCK_CLOEXEC = 0x80000;

    static final int SOL_SOCKET = 1;
    static final int SO_SNDBUF = 7;
    static final int SO_RCVBUF = 8;
    static final int SO_SNDBUFFORCE = 32;
    static final int SO_RCVBUFFORCE = 33;

    static final int SOL_PACKET = 263;
    /** struct tpacket_stats: frames received and dropped since the last read, which resets both. */
    static final int PACKET_STATISTICS = 6;
    static final int PACKET_QDISC_BYPASS = 20;
    static final int PACKET_IGNORE_OUTGOING = 23;
    /** {@code sll_pkttype} of a frame addressed to another host (seen on veth, bridges, promiscuous NICs). */
    static final int PACKET_OTHERHOST = 3;
    /** {@code sll_pkttype} of a frame this host sent, as packet taps see it. */
    static final int PACKET_OUTGOING = 4;

    static final long SIOCGIFFLAGS = 0x8913;
    static final long SIOCGIFMTU = 0x8921;
    static final long SIOCGIFHWADDR = 0x8927;
    static final long SIOCGIFINDEX = 0x8933;
    static final int IFF_UP = 0x1;
    static final int IFF_RUNNING = 0x40;
    static final int ARPHRD_ETHER = 1;

    static final int MSG_TRUNC = 0x20;
    static final int MSG_DONTWAIT = 0x40;

    static final int EPERM = 1;
    static final int EINTR = 4;
    static final int ENXIO = 6;
    static final int EAGAIN = 11;
    static final int EACCES = 13;
    static final int ENODEV = 19;
    static final int ENOBUFS = 105;

    static {
        Native.register(Libc.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    private Libc() {
    }

    static native int socket(int domain, int type, int protocol);

    static native int bind(int fd, long address, int addressLength);

    /** ioctl is variadic; one pointer argument is passed the same way as a fixed one on the LP64 Linux ABIs. */
    static native int ioctl(int fd, long request, long argument);

    static native int setsockopt(int fd, int level, int name, long value, int valueLength);

    /** {@code valueLength} points to a socklen_t: the room in, the length written out. */
    static native int getsockopt(int fd, int level, int name, long value, long valueLength);

    static native int sendmmsg(int fd, long messages, int count, int flags);

    static native int recvmmsg(int fd, long messages, int count, int flags, long timeout);

    static native int close(int fd);

    static native String strerror(int errno);
}
