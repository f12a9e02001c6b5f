package io.vmrdma.xen.sim.internal.abi;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;

/**
 * XenStore over a Unix socket, as libxenstore talks to xenstored: requests go one at a time with req_id 0;
 * a reader thread (libxenstore has one too) sorts replies from watch events.
 */
public final class XsSocketTransport implements XsClient.Transport {

    private static final XsClient.Reply CLOSED = new XsClient.Reply(XsWire.ERROR, XsWire.strings("EIO"));

    private final SocketChannel channel;
    private final XsClient client;
    private final BlockingQueue<XsClient.Reply> replies = new ArrayBlockingQueue<>(1);
    private final ByteBuffer header = ByteBuffer.allocate(XsWire.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    private final Thread reader;
    private volatile boolean closed;

    private XsSocketTransport(SocketChannel channel, XsClient client) {
        this.channel = channel;
        this.client = client;
        this.reader = new Thread(this::readLoop, "xenstore-reader");
        reader.setDaemon(true);
        reader.start();
    }

    /** An opener connecting to the xenstored socket at {@code socket}, as {@code xs_open} with XENSTORED_PATH. */
    public static XsClient.Opener at(Path socket) {
        return client -> {
            try {
                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                ch.connect(UnixDomainSocketAddress.of(socket));
                return new XsSocketTransport(ch, client);
            } catch (IOException e) {
                throw new XenException("xs_open", XenErrno.ENOENT, socket + ": " + e.getMessage());
            }
        };
    }

    @Override
    public synchronized XsClient.Reply call(int type, int tx, byte[] payload) throws XenException {
        if (closed) {
            throw new XenException("xs_talkv", XenErrno.EIO, "connection closed");
        }
        ByteBuffer msg = ByteBuffer.allocate(XsWire.HEADER_LENGTH + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        msg.putInt(type).putInt(0).putInt(tx).putInt(payload.length).put(payload).flip();
        try {
            while (msg.hasRemaining()) {
                channel.write(msg);
            }
            XsClient.Reply reply = replies.take();
            if (reply == CLOSED) {
                replies.offer(CLOSED);
                throw new XenException("xs_talkv", XenErrno.EIO, "xenstored closed the connection");
            }
            return reply;
        } catch (IOException e) {
            throw new XenException("xs_talkv", XenErrno.EIO, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new XenException("xs_talkv", 4, "interrupted");
        }
    }

    private void readLoop() {
        try {
            while (true) {
                header.clear();
                readFully(header);
                int type = header.getInt(0);
                int len = header.getInt(12);
                if (len < 0 || len > XsWire.PAYLOAD_MAX) {
                    break;
                }
                ByteBuffer body = ByteBuffer.allocate(len);
                readFully(body);
                if (type == XsWire.WATCH_EVENT) {
                    client.onWatchEvent(body.array());
                } else {
                    replies.put(new XsClient.Reply(type, body.array()));
                }
            }
        } catch (IOException | InterruptedException e) {
            // connection gone: fall through and fail the waiting caller
        }
        closed = true;
        replies.offer(CLOSED);
    }

    private void readFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) {
                throw new IOException("end of stream");
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
