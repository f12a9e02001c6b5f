package io.vmrdma.nic.packet.internal;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

/**
 * What an AF_PACKET port adds to the shared socket calls ({@link io.vmrdma.nic.socket.SocketCalls}): the
 * interface queries (ioctl, bound the same way, with JNA direct mapping) and the constants of packet sockets.
 *
 * <p>Constants are Linux's (x86_64 and aarch64 agree on all of them).
 */
final class Libc {

    static final int AF_PACKET = 17;
    static final int SOCK_RAW = 3;

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

    static final int EPERM = 1;
    static final int ENXIO = 6;
    static final int EACCES = 13;
    static final int ENODEV = 19;

    static {
        Native.register(Libc.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    private Libc() {
    }

    /** ioctl is variadic; one pointer argument is passed the same way as a fixed one on the LP64 Linux ABIs. */
    static native int ioctl(int fd, long request, long argument);
}
