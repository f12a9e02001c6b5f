package io.vmrdma.xen.sim.internal.abi;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.xen.sim.guest.SimAbi;

/**
 * One guest connection to the simulator's hypercall socket: one handle in the sense of {@code /dev/xen/evtchn}
 * or {@code /dev/xen/gntdev}. Requests go one at a time and each reply follows its request: since ABI version 2
 * the simulator sends nothing unsolicited (events travel on the channel FIFOs).
 */
public final class HypercallChannel implements AutoCloseable {

    private final SocketChannel channel;
    private final ByteBuffer out = ByteBuffer.allocate(SimAbi.HEADER_LENGTH + 64).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer header = ByteBuffer.allocate(SimAbi.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    private int nextReqId = 1;
    private final int domid;

    private HypercallChannel(SocketChannel channel) throws XenException {
        this.channel = channel;
        ByteBuffer hello = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, SimAbi.VERSION);
        ByteBuffer r = call("hello", SimAbi.OP_HELLO, hello);
        this.domid = r.getInt(4);
    }

    /** Connects to a domain's {@code hypercall.sock} and says HELLO. */
    public static HypercallChannel connect(Path socket, String operation) throws XenException {
        SocketChannel ch = null;
        try {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(socket));
            return new HypercallChannel(ch);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new XenException(operation, XenErrno.ENOENT, socket + ": " + e.getMessage());
        } catch (XenException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    /** The domid the simulator says this connection belongs to. */
    public int domid() {
        return domid;
    }

    /**
     * Sends one request and waits for its reply. Returns the reply payload positioned at 0, whose first word is
     * the non-negative result.
     *
     * @throws XenException with the errno the simulator returned as a negative result
     */
    public ByteBuffer call(String operation, int op, ByteBuffer payload) throws XenException {
        ByteBuffer body = callRaw(operation, op, payload);
        int result = body.getInt(0);
        if (result < 0) {
            throw new XenException(operation, -result, null);
        }
        return body;
    }

    /** As {@link #call} but returns a failed reply too (its first word a negative errno) instead of throwing. */
    public synchronized ByteBuffer callRaw(String operation, int op, ByteBuffer payload) throws XenException {
        int reqId = nextReqId++;
        ByteBuffer msg = SimAbi.HEADER_LENGTH + payload.remaining() <= out.capacity() ? out.clear()
                : ByteBuffer.allocate(SimAbi.HEADER_LENGTH + payload.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        msg.putInt(op).putInt(reqId).putInt(0).putInt(payload.remaining()).put(payload.duplicate()).flip();
        try {
            while (msg.hasRemaining()) {
                channel.write(msg);
            }
            readFully(header.clear());
            int len = header.getInt(12);
            if (len < 4 || len > SimAbi.MAX_PAYLOAD + 4 || header.getInt(0) != op || header.getInt(4) != reqId) {
                closeQuietly(channel);
                throw new XenException(operation, XenErrno.EIO, "reply out of order or malformed");
            }
            ByteBuffer body = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
            readFully(body);
            return body.clear();
        } catch (IOException e) {
            throw new XenException(operation, XenErrno.EIO, "simulator connection: " + e.getMessage());
        }
    }

    private void readFully(ByteBuffer into) throws IOException {
        while (into.hasRemaining()) {
            if (channel.read(into) < 0) {
                throw new IOException("the simulator closed the connection");
            }
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(SocketChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }
}
