package io.vmrdma.nic.udp.internal;

import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.locks.LockSupport;

import com.sun.jna.Native;
import io.vmrdma.nic.socket.ReceiveReadiness;
import io.vmrdma.nic.socket.SocketCalls;

/**
 * One non-blocking UDP socket, IPv4 or IPv6, opened and bound through libc so that it can send and receive batches
 * with control messages, and the offloads it was able to turn on.
 */
final class UdpSocket implements AutoCloseable {

    /** -1 once closed: a call after close fails (EBADF) instead of reaching a descriptor the process reused. */
    private volatile int fd;
    private final boolean ipv6;
    /** Scratch for options and addresses at activation; not used on the data path. */
    private final NativeArea scratch = new NativeArea(64, ByteOrder.nativeOrder());
    private final ReceiveReadiness readiness;

    /**
     * Opens a socket of {@code bind}'s family and binds it.
     *
     * @throws IllegalStateException naming the address and the kernel's reason when either fails
     */
    UdpSocket(InetSocketAddress bind) {
        ipv6 = !(bind.getAddress() instanceof Inet4Address);
        fd = SocketCalls.socket(ipv6 ? UdpConstants.AF_INET6 : UdpConstants.AF_INET,
                UdpConstants.SOCK_DGRAM | SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw new IllegalStateException("cannot open a" + (ipv6 ? "n IPv6" : "n IPv4") + " UDP socket for "
                    + UdpPort.endpoint(bind) + ": " + SocketCalls.error(Native.getLastError()));
        }
        int length = Endpoints.writeBindAddress(bind, ipv6, scratch.buffer(), 0);
        if (SocketCalls.bind(fd, scratch.address(0), length) < 0) {
            int errno = Native.getLastError();
            close();
            String hint = errno == UdpConstants.EADDRINUSE || errno == UdpConstants.EADDRNOTAVAIL
                    ? " (is the port free, and the address one of this host's?)" : "";
            throw new IllegalStateException("cannot bind UDP " + UdpPort.endpoint(bind) + ": "
                    + SocketCalls.error(errno) + hint);
        }
        readiness = new ReceiveReadiness(fd);
    }

    boolean ipv6() {
        return ipv6;
    }

    /** The address and port the socket is bound to (the port the kernel chose, for port 0). */
    InetSocketAddress localAddress() {
        ByteBuffer area = scratch.buffer();
        area.putInt(Endpoints.SOCKADDR_ROOM, Endpoints.SOCKADDR_ROOM);
        if (SocketCalls.getsockname(fd, scratch.address(0), scratch.address(Endpoints.SOCKADDR_ROOM)) < 0) {
            throw new IllegalStateException("getsockname failed: " + SocketCalls.error(Native.getLastError()));
        }
        return Endpoints.readSocketAddress(area, 0);
    }

    /**
     * Asks for a send or receive buffer ({@link SocketCalls#SO_SNDBUF}, {@link SocketCalls#SO_RCVBUF}) of
     * {@code bytes} and returns what the kernel reports it granted: Linux doubles what it grants (for its
     * bookkeeping), capped at {@code net.core.wmem_max} / {@code rmem_max}.
     */
    int bufferSize(int option, int bytes) {
        ByteBuffer area = scratch.buffer();
        area.putInt(0, bytes);
        if (SocketCalls.setsockopt(fd, SocketCalls.SOL_SOCKET, option, scratch.address(0), 4) < 0) {
            throw new IllegalStateException("setsockopt of a " + bytes + "-byte buffer failed: "
                    + SocketCalls.error(Native.getLastError()));
        }
        area.putInt(8, 4);
        if (SocketCalls.getsockopt(fd, SocketCalls.SOL_SOCKET, option, scratch.address(0), scratch.address(8)) < 0) {
            return bytes;
        }
        return area.getInt(0);
    }

    /**
     * Sets a UDP option ({@link UdpConstants#UDP_GRO} to turn receive coalescing on,
     * {@link UdpConstants#UDP_SEGMENT} 0 to probe for send segmentation without turning it on for every send).
     *
     * @return null when the kernel took it, else why not (ENOPROTOOPT: a kernel that lacks it)
     */
    String setUdpOption(int option, int value) {
        scratch.buffer().putInt(0, value);
        if (SocketCalls.setsockopt(fd, UdpConstants.SOL_UDP, option, scratch.address(0), 4) < 0) {
            return SocketCalls.error(Native.getLastError());
        }
        return null;
    }

    /** Puts the first {@code messages} of {@code batch}'s plan on the wire; how many went, or -1 with errno set. */
    int send(SendBatch batch, int messages) {
        return SocketCalls.sendmmsg(fd, batch.messages(), messages, SocketCalls.MSG_DONTWAIT);
    }

    /** Takes up to {@code messages} waiting datagrams into {@code batch}; how many came, or -1 with errno set. */
    int receive(ReceiveBatch batch, int messages) {
        return SocketCalls.recvmmsg(fd, batch.messages(), messages, SocketCalls.MSG_DONTWAIT, 0L);
    }

    /** Sleeps until a datagram waits in the socket, at most {@code timeoutNanos}; a closed socket only parks. */
    void awaitDatagrams(long timeoutNanos) {
        if (fd < 0) {
            LockSupport.parkNanos(timeoutNanos);
        } else {
            readiness.await(timeoutNanos);
        }
    }

    /** As {@link #awaitDatagrams}, ended by {@code otherFd} too; false (no sleep) once closed. */
    boolean awaitDatagramsOr(int otherFd, long timeoutNanos) {
        if (fd < 0) {
            return false;
        }
        readiness.awaitOr(otherFd, timeoutNanos);
        return true;
    }

    /** Ends the wait in progress, or the next one; any thread, even after close (then nothing). */
    void wake() {
        readiness.wake();
    }

    boolean isOpen() {
        return fd >= 0;
    }

    @Override
    public void close() {
        int open = fd;
        fd = -1;
        if (open >= 0) {
            if (readiness != null) {
                readiness.close();
            }
            SocketCalls.close(open);
        }
    }
}
