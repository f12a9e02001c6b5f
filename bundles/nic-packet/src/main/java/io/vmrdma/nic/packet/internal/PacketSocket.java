package io.vmrdma.nic.packet.internal;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.LockSupport;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import io.vmrdma.api.nic.LinkState;
import io.vmrdma.nic.socket.ReceiveReadiness;
import io.vmrdma.nic.socket.ReceiveTimestamps;
import io.vmrdma.nic.socket.SocketCalls;

/**
 * One non-blocking AF_PACKET raw socket bound to one interface and one EtherType, and the interface queries made
 * through it. The queries go through this socket (not {@code if_nametoindex}, which opens a socket of its own) so
 * that they see the network namespace the socket lives in, whichever thread asks.
 */
final class PacketSocket implements AutoCloseable {

    /** ARPHRD_LOOPBACK: {@code lo} carries Ethernet headers too (with an all-zero MAC). */
    private static final int ARPHRD_LOOPBACK = 772;
    private static final int IFREQ_SIZE = 40;
    private static final int IFREQ_UNION = 16;
    private static final int SOCKADDR_LL_SIZE = 20;

    private final int fd;
    private final String interfaceName;
    private final int interfaceIndex;
    /** A struct ifreq with the interface name filled in, reused by every query. */
    private final Memory ifreq = new Memory(IFREQ_SIZE);
    private final Memory option = new Memory(8);
    /** struct tpacket_stats (tp_packets, tp_drops) and, after it, its socklen_t. */
    private final Memory statistics = new Memory(12);
    private final ReceiveReadiness readiness;
    private boolean closed;

    /**
     * Opens, configures and binds the socket.
     *
     * @throws IllegalStateException with a message naming the cause: {@code no such interface: X}, the missing
     *                               CAP_NET_RAW, or the failing call and its errno
     */
    PacketSocket(PacketSettings settings) {
        interfaceName = settings.interfaceName();
        // Protocol 0: the socket receives nothing until bind names the interface and the EtherType, so no frame of
        // another interface slips in between socket() and bind().
        fd = SocketCalls.socket(Libc.AF_PACKET, Libc.SOCK_RAW | SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC,
                0);
        if (fd < 0) {
            int errno = Native.getLastError();
            if (errno == Libc.EPERM || errno == Libc.EACCES) {
                throw new IllegalStateException("nic.packet needs CAP_NET_RAW to open a raw socket on "
                        + interfaceName + " (run as root, or grant it: setcap cap_net_raw+ep on the java binary): "
                        + error(errno));
            }
            throw new IllegalStateException("nic.packet cannot open an AF_PACKET socket: " + error(errno));
        }
        try {
            ifreq.clear();
            byte[] name = interfaceName.getBytes(StandardCharsets.UTF_8);
            ifreq.write(0, name, 0, name.length);
            interfaceIndex = query(Libc.SIOCGIFINDEX, "SIOCGIFINDEX").getInt(IFREQ_UNION);
            setOption(Libc.SOL_PACKET, Libc.PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING");
            if (settings.qdiscBypass()) {
                setOption(Libc.SOL_PACKET, Libc.PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS");
            }
            bufferSize(Libc.SO_RCVBUFFORCE, SocketCalls.SO_RCVBUF, settings.socketBufferBytes(), "SO_RCVBUF");
            bufferSize(Libc.SO_SNDBUFFORCE, SocketCalls.SO_SNDBUF, settings.socketBufferBytes(), "SO_SNDBUF");
            bind(settings.etherType());
            readiness = new ReceiveReadiness(fd);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    String interfaceName() {
        return interfaceName;
    }

    /** The interface MTU: the largest Ethernet payload. */
    int mtu() {
        return query(Libc.SIOCGIFMTU, "SIOCGIFMTU").getInt(IFREQ_UNION);
    }

    /**
     * The interface's 6-byte MAC address.
     *
     * @throws IllegalStateException if the interface is not Ethernet
     */
    byte[] macAddress() {
        Pointer answer = query(Libc.SIOCGIFHWADDR, "SIOCGIFHWADDR");
        int family = answer.getShort(IFREQ_UNION) & 0xFFFF;
        if (family != Libc.ARPHRD_ETHER && family != ARPHRD_LOOPBACK) {
            throw new IllegalStateException("nic.packet: " + interfaceName + " is not an Ethernet interface "
                    + "(hardware type " + family + ")");
        }
        return answer.getByteArray(IFREQ_UNION + 2, 6);
    }

    /**
     * Up when the interface is administratively up and running (has carrier); down too when it is gone.
     * Synchronized: a console thread may ask while the engine uses the port, and the ifreq is shared.
     */
    synchronized LinkState linkState() {
        if (closed || Libc.ioctl(fd, Libc.SIOCGIFFLAGS, Pointer.nativeValue(ifreq)) < 0) {
            return LinkState.DOWN;
        }
        int flags = ifreq.getShort(IFREQ_UNION) & 0xFFFF;
        int up = Libc.IFF_UP | Libc.IFF_RUNNING;
        return (flags & up) == up ? LinkState.UP : LinkState.DOWN;
    }

    /** Sends {@code count} messages of the mmsghdr array at {@code messages}; -1 and errno as sendmmsg. */
    int send(long messages, int count) {
        return SocketCalls.sendmmsg(fd, messages, count, SocketCalls.MSG_DONTWAIT);
    }

    /** Asks the kernel to timestamp the frames this socket receives. */
    ReceiveTimestamps receiveTimestamps() {
        return new ReceiveTimestamps(fd);
    }

    /** Receives up to {@code count} messages into the mmsghdr array at {@code messages}; never waits. */
    int receive(long messages, int count) {
        return SocketCalls.recvmmsg(fd, messages, count, SocketCalls.MSG_DONTWAIT, 0L);
    }

    /** Sleeps until a frame waits in the socket, at most {@code timeoutNanos}; a closed socket only parks. */
    void awaitFrames(long timeoutNanos) {
        if (closed) {
            LockSupport.parkNanos(timeoutNanos);
        } else {
            readiness.await(timeoutNanos);
        }
    }

    /** As {@link #awaitFrames}, ended by {@code fd} too; false (no sleep) once closed. */
    boolean awaitFramesOr(int fd, long timeoutNanos) {
        if (closed) {
            return false;
        }
        readiness.awaitOr(fd, timeoutNanos);
        return true;
    }

    /** Ends the wait in progress, or the next one; any thread, even after close (then nothing). */
    void wake() {
        readiness.wake();
    }

    /**
     * Frames the kernel dropped for this socket since the last call (its receive buffer was full), through
     * PACKET_STATISTICS, which resets the count; 0 when the socket is closed or the call fails.
     */
    int takeDrops() {
        statistics.setInt(8, 8);
        if (closed || SocketCalls.getsockopt(fd, Libc.SOL_PACKET, Libc.PACKET_STATISTICS,
                Pointer.nativeValue(statistics), Pointer.nativeValue(statistics) + 8) < 0) {
            return 0;
        }
        return statistics.getInt(4);
    }

    boolean isOpen() {
        return !closed;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            if (readiness != null) {
                readiness.close();
            }
            SocketCalls.close(fd);
        }
    }

    static String error(int errno) {
        return SocketCalls.error(errno);
    }

    private Pointer query(long request, String name) {
        if (Libc.ioctl(fd, request, Pointer.nativeValue(ifreq)) < 0) {
            int errno = Native.getLastError();
            if (errno == Libc.ENODEV || errno == Libc.ENXIO) {
                throw new IllegalStateException("no such interface: " + interfaceName);
            }
            throw new IllegalStateException("nic.packet " + name + " on " + interfaceName + " failed: "
                    + error(errno));
        }
        return ifreq;
    }

    private void bind(int etherType) {
        try (Memory address = new Memory(SOCKADDR_LL_SIZE)) {
            address.clear();
            address.setShort(0, (short) Libc.AF_PACKET);
            // sll_protocol is in network byte order.
            address.setByte(2, (byte) (etherType >>> 8));
            address.setByte(3, (byte) etherType);
            address.setInt(4, interfaceIndex);
            if (SocketCalls.bind(fd, Pointer.nativeValue(address), SOCKADDR_LL_SIZE) < 0) {
                int errno = Native.getLastError();
                if (errno == Libc.ENODEV || errno == Libc.ENXIO) {
                    throw new IllegalStateException("no such interface: " + interfaceName);
                }
                throw new IllegalStateException("nic.packet cannot bind to " + interfaceName + ": " + error(errno));
            }
        }
    }

    private void setOption(int level, int name, int value, String what) {
        option.setInt(0, value);
        if (SocketCalls.setsockopt(fd, level, name, Pointer.nativeValue(option), 4) < 0) {
            throw new IllegalStateException("nic.packet cannot set " + what + " on " + interfaceName + ": "
                    + error(Native.getLastError()));
        }
    }

    /** Forces the size past the sysctl cap where allowed (CAP_NET_ADMIN), else asks within it. */
    private void bufferSize(int forced, int plain, int bytes, String what) {
        option.setInt(0, bytes);
        if (SocketCalls.setsockopt(fd, SocketCalls.SOL_SOCKET, forced, Pointer.nativeValue(option), 4) == 0) {
            return;
        }
        setOption(SocketCalls.SOL_SOCKET, plain, bytes, what);
    }
}
