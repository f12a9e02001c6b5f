package io.vmrdma.nic.udp.internal;

/**
 * The constants of UDP sockets that the shared socket calls ({@link io.vmrdma.nic.socket.SocketCalls}) leave to
 * their binding: the address families, and the options NIO has no API for, UDP_SEGMENT on the way out and UDP_GRO on
 * the way in. Linux's values, the same on x86_64 and aarch64.
 */
final class UdpConstants {

    static final int AF_INET = 2;
    static final int AF_INET6 = 10;
    static final int SOCK_DGRAM = 2;

    /** IPPROTO_UDP, the level of the UDP options. */
    static final int SOL_UDP = 17;
    /** Segment size of a send (socket option or per-message control message, a u16): Linux 4.18. */
    static final int UDP_SEGMENT = 103;
    /** Receive coalesced datagrams with their segment size in a control message (an int): Linux 5.0. */
    static final int UDP_GRO = 104;

    /** msg_flags: the control messages did not fit their room and were cut short. */
    static final int MSG_CTRUNC = 0x8;

    static final int EIO = 5;
    static final int EINVAL = 22;
    static final int EMSGSIZE = 90;
    static final int EADDRINUSE = 98;
    static final int EADDRNOTAVAIL = 99;

    private UdpConstants() {
    }
}
