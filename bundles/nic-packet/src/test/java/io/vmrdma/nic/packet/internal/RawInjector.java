package io.vmrdma.nic.packet.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import com.sun.jna.Native;
import com.sun.jna.Platform;

/**
 * An attacker's raw socket for tests: sends whole Ethernet frames, any source MAC and EtherType, on one interface.
 * Opened on a thread inside the attacker's network namespace (a socket stays in the namespace it was made in).
 */
final class RawInjector implements AutoCloseable {

    private static final int AF_PACKET = 17;
    private static final int SOCK_RAW = 3;
    private static final int SOCKADDR_LL = 20;

    static {
        Native.register(Platform.C_LIBRARY_NAME);
    }

    private static native int socket(int domain, int type, int protocol);

    private static native int if_nametoindex(String name);

    private static native long sendto(int fd, byte[] buffer, long length, int flags, byte[] address, int addressLength);

    private static native int close(int fd);

    private final int fd;
    private final byte[] address = new byte[SOCKADDR_LL];

    /** A raw socket on {@code interfaceName}; sends only (protocol 0: it receives nothing). */
    RawInjector(String interfaceName) {
        int index = if_nametoindex(interfaceName);
        if (index == 0) {
            throw new IllegalStateException("no interface " + interfaceName);
        }
        fd = socket(AF_PACKET, SOCK_RAW, 0);
        if (fd < 0) {
            throw new IllegalStateException("AF_PACKET socket: errno " + Native.getLastError());
        }
        ByteBuffer ll = ByteBuffer.wrap(address).order(ByteOrder.nativeOrder());
        ll.putShort(0, (short) AF_PACKET);
        ll.putInt(4, index);
        ll.put(11, (byte) 6);
    }

    /** Sends one Ethernet frame as it is: destination, source, EtherType, payload. */
    void send(byte[] frame) {
        if (sendto(fd, frame, frame.length, 0, address, SOCKADDR_LL) != frame.length) {
            throw new IllegalStateException("sendto: errno " + Native.getLastError());
        }
    }

    /** An Ethernet frame: {@code to}, {@code from}, {@code etherType}, then {@code payload}. */
    static byte[] ethernet(byte[] to, byte[] from, int etherType, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(14 + payload.length).order(ByteOrder.BIG_ENDIAN);
        b.put(to).put(from).putShort((short) etherType).put(payload);
        return b.array();
    }

    @Override
    public void close() {
        close(fd);
    }
}
