package io.vmrdma.xen.sim.internal.abi;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.xen.sim.guest.SimAbi;

/**
 * One guest connection to the simulator's hypercall socket: one handle in the sense of {@code /dev/xen/evtchn}
 * or {@code /dev/xen/gntdev}. Requests go one at a time; replies and the simulator's unsolicited
 * {@link SimAbi#OP_EVENT} messages share the stream.
 *
 * <p>Whichever thread needs input reads the socket itself (leader/follower), so a thread waiting for an event
 * wakes straight from the socket, and a caller waiting for a reply while another thread waits for events is
 * handed its reply by that thread. No event is lost: each is queued before any waiter is signalled, and waiters
 * re-check the queue under the lock before sleeping.
 */
public final class HypercallChannel implements AutoCloseable {

    private final SocketChannel channel;
    private final Selector selector;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Object calls = new Object();
    private final ByteBuffer out = ByteBuffer.allocate(SimAbi.HEADER_LENGTH + 64).order(ByteOrder.LITTLE_ENDIAN);
    private ByteBuffer in = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
    private int[] events = new int[64];
    private int eventHead;
    private int eventCount;
    private ByteBuffer reply;
    private boolean reading;
    private boolean closed;
    private int nextReqId = 1;
    private final int domid;

    private HypercallChannel(SocketChannel channel, Selector selector) throws XenException {
        this.channel = channel;
        this.selector = selector;
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
            ch.configureBlocking(false);
            Selector selector = Selector.open();
            ch.register(selector, SelectionKey.OP_READ);
            return new HypercallChannel(ch, selector);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new XenException(operation, XenErrno.ENOENT, socket + ": " + e.getMessage());
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
    public ByteBuffer callRaw(String operation, int op, ByteBuffer payload) throws XenException {
        synchronized (calls) {
            int reqId = nextReqId++;
            send(operation, op, reqId, payload);
            lock.lock();
            try {
                while (reply == null) {
                    if (closed) {
                        throw new XenException(operation, XenErrno.EIO, "simulator closed the connection");
                    }
                    if (reading) {
                        changed.awaitUninterruptibly();
                    } else {
                        lead(Long.MAX_VALUE);
                    }
                }
                ByteBuffer r = reply;
                reply = null;
                if (r.limit() < SimAbi.HEADER_LENGTH + 4 || r.getInt(4) != reqId) {
                    closed = true;
                    throw new XenException(operation, XenErrno.EIO, "reply out of order");
                }
                r.position(SimAbi.HEADER_LENGTH);
                return r.slice().order(ByteOrder.LITTLE_ENDIAN);
            } finally {
                lock.unlock();
            }
        }
    }

    /** The next fired port, waiting up to {@code timeoutNanos} (0 only looks); -1 on timeout. */
    public int waitEvent(long timeoutNanos) throws XenException {
        long deadline = System.nanoTime() + timeoutNanos;
        lock.lock();
        try {
            while (true) {
                if (eventCount > 0) {
                    int port = events[eventHead];
                    eventHead = (eventHead + 1) % events.length;
                    eventCount--;
                    return port;
                }
                if (closed) {
                    throw new XenException("xenevtchn_pending", XenErrno.EIO, "simulator closed the connection");
                }
                long remaining = deadline - System.nanoTime();
                if (timeoutNanos <= 0) {
                    if (reading) {
                        return -1;
                    }
                    lead(0);
                    if (eventCount == 0) {
                        return -1;
                    }
                } else if (remaining <= 0) {
                    return -1;
                } else if (reading) {
                    changed.awaitNanos(remaining);
                } else {
                    lead(remaining);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        } finally {
            lock.unlock();
        }
    }

    /** Reads the socket as the one reader for up to {@code timeoutNanos}; called and returns with the lock held. */
    private void lead(long timeoutNanos) {
        reading = true;
        lock.unlock();
        int read = 0;
        try {
            int ready = timeoutNanos == 0 ? selector.selectNow()
                    : timeoutNanos == Long.MAX_VALUE ? selector.select()
                    : selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNanos + 999_999)));
            selector.selectedKeys().clear();
            if (ready > 0 || timeoutNanos == 0) {
                read = channel.read(in);
            }
        } catch (IOException | java.nio.channels.ClosedSelectorException e) {
            read = -1;
        } finally {
            lock.lock();
            reading = false;
        }
        if (read < 0) {
            closed = true;
        } else {
            dispatch();
        }
        changed.signalAll();
    }

    /** Takes every complete message out of the input buffer: events into the queue, a reply into its slot. */
    private void dispatch() {
        in.flip();
        while (in.remaining() >= SimAbi.HEADER_LENGTH) {
            int start = in.position();
            int len = in.getInt(start + 12);
            if (len < 0 || len > SimAbi.MAX_PAYLOAD + 4) {
                closed = true;
                return;
            }
            if (in.remaining() < SimAbi.HEADER_LENGTH + len) {
                if (in.capacity() < SimAbi.HEADER_LENGTH + len) {
                    ByteBuffer bigger = ByteBuffer.allocate(SimAbi.HEADER_LENGTH + len).order(ByteOrder.LITTLE_ENDIAN);
                    bigger.put(in);
                    in = bigger;
                    return;
                }
                break;
            }
            int op = in.getInt(start);
            if (op == SimAbi.OP_EVENT && len >= 4) {
                queueEvent(in.getInt(start + SimAbi.HEADER_LENGTH));
            } else {
                ByteBuffer r = ByteBuffer.allocate(SimAbi.HEADER_LENGTH + len).order(ByteOrder.LITTLE_ENDIAN);
                r.put(in.duplicate().position(start).limit(start + SimAbi.HEADER_LENGTH + len)).flip();
                reply = r;
            }
            in.position(start + SimAbi.HEADER_LENGTH + len);
        }
        in.compact();
    }

    private void queueEvent(int port) {
        if (eventCount == events.length) {
            int[] bigger = new int[events.length * 2];
            for (int i = 0; i < eventCount; i++) {
                bigger[i] = events[(eventHead + i) % events.length];
            }
            events = bigger;
            eventHead = 0;
        }
        events[(eventHead + eventCount) % events.length] = port;
        eventCount++;
    }

    private void send(String operation, int op, int reqId, ByteBuffer payload) throws XenException {
        ByteBuffer msg = SimAbi.HEADER_LENGTH + payload.remaining() <= out.capacity() ? out.clear()
                : ByteBuffer.allocate(SimAbi.HEADER_LENGTH + payload.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        msg.putInt(op).putInt(reqId).putInt(0).putInt(payload.remaining()).put(payload.duplicate()).flip();
        try {
            while (msg.hasRemaining()) {
                if (channel.write(msg) == 0) {
                    Thread.yield();
                }
            }
        } catch (IOException e) {
            throw new XenException(operation, XenErrno.EIO, e.getMessage());
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        closeQuietly(channel);
        try {
            selector.close();
        } catch (IOException e) {
            // closing anyway
        }
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
