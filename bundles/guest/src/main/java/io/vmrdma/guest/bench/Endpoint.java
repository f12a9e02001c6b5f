package io.vmrdma.guest.bench;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.guest.GuestBuffer;
import io.vmrdma.guest.GuestDevice;

/**
 * One side of a benchmark connection, as perftest's context: a buffer registered for every access, a completion
 * queue, a queue pair connected through the connection manager, and the peer's buffer address and rkey (exchanged
 * as private data, where perftest uses its TCP side channel). The buffer's first half is where the peer's writes
 * and SENDs land, its second half what this side sends from, so a test of any size up to half the buffer never
 * reads back what it sent itself.
 */
public final class Endpoint {

    static final long WAIT = TimeUnit.SECONDS.toNanos(30);
    /** Send-queue depth: perftest's default {@code tx_depth} for bandwidth tests. */
    public static final int DEPTH = 128;
    /** The buffer's address and rkey at the head of the private data of a connect and of its accept. */
    static final int KEY_BYTES = 12;

    final GuestDevice dev;
    final GuestDevice.Pd pd;
    final GuestDevice.Cq cq;
    final GuestBuffer buf;
    final GuestDevice.Region mr;
    GuestDevice.Qp qp;
    long remoteAddress;
    int remoteKey;
    /** The write latency test's iteration numbers, counting on across sizes so a stale one never passes. */
    long sequence;
    /** Whether the send latency test has posted its receives (once per connection, each half the buffer). */
    boolean receivesPosted;
    private byte[] peerRequest = new byte[0];
    private long service;
    private boolean disconnected;

    private Endpoint(GuestDevice dev, int bytes) throws VerbsException {
        this.dev = dev;
        pd = dev.allocPd();
        cq = dev.createCq(4 * DEPTH);
        buf = dev.allocate(bytes);
        mr = dev.register(pd, buf,
                AccessFlags.LOCAL_WRITE | AccessFlags.REMOTE_WRITE | AccessFlags.REMOTE_READ);
        qp = dev.createQp(pd, cq, cq, DEPTH, DEPTH, 1, false);
    }

    /** Sets up the server side and listens on {@code service}; then {@link #accept} the client. */
    public static Endpoint listen(GuestDevice dev, long service, int bytes) throws VerbsException {
        Endpoint e = new Endpoint(dev, bytes);
        dev.listen(service);
        e.service = service;
        return e;
    }

    /** Accepts one connection on the service this server listens on and returns once it is established. */
    public Endpoint accept() throws VerbsException {
        CmEvent request = event(CmEventType.CONNECT_REQUEST);
        peer(request.privateData());
        dev.accept(request.connectionId(), qp, key());
        event(CmEventType.ESTABLISHED);
        dev.stopListening(service);
        return this;
    }

    /**
     * Accepts {@code request}, a CONNECT_REQUEST on a service the caller listens on, with a new endpoint whose
     * buffer has {@code bytes}, and returns once the connection is established. The caller keeps listening: a
     * server that serves client after client sizes each buffer by what that client asks for ({@link #request}).
     */
    public static Endpoint accept(GuestDevice dev, CmEvent request, int bytes) throws VerbsException {
        Endpoint e = new Endpoint(dev, bytes);
        try {
            e.peer(request.privateData());
            dev.accept(request.connectionId(), e.qp, e.key());
            e.event(CmEventType.ESTABLISHED);
            return e;
        } catch (VerbsException failed) {
            // Give the buffer back: a server that goes on serving would otherwise run out of shareable pages.
            e.disconnected = true;
            try {
                e.close();
            } catch (VerbsException alsoFailed) {
                failed.addSuppressed(alsoFailed);
            }
            throw failed;
        }
    }

    /** Connects to {@code service} on {@code node} and returns once the connection is established. */
    public static Endpoint client(GuestDevice dev, int node, long service, int bytes) throws VerbsException {
        return client(dev, node, service, bytes, new byte[0]);
    }

    /**
     * As {@link #client(GuestDevice, int, long, int)}, sending {@code request} after the key (at most
     * {@link CmEvent#MAX_PRIVATE_DATA} - 12 bytes): what the server needs to know of the test, such as its sizes.
     */
    public static Endpoint client(GuestDevice dev, int node, long service, int bytes, byte[] request)
            throws VerbsException {
        if (request.length > CmEvent.MAX_PRIVATE_DATA - KEY_BYTES) {
            throw new IllegalArgumentException(request.length + " request bytes; at most "
                    + (CmEvent.MAX_PRIVATE_DATA - KEY_BYTES) + " fit beside the key");
        }
        Endpoint e = new Endpoint(dev, bytes);
        byte[] data = ByteBuffer.allocate(KEY_BYTES + request.length).put(e.key()).put(request).array();
        dev.connect(e.qp, node, service, -1, data);
        e.peer(e.event(CmEventType.ESTABLISHED).privateData());
        return e;
    }

    /** What the peer sent after its key when it connected (empty on the client's side, or when it sent none). */
    public static byte[] request(CmEvent connectRequest) {
        byte[] data = connectRequest.privateData();
        return data.length <= KEY_BYTES ? new byte[0] : Arrays.copyOfRange(data, KEY_BYTES, data.length);
    }

    /** The registered buffer. */
    public GuestBuffer buffer() {
        return buf;
    }

    /** Half the buffer: the largest message a test on this endpoint can use. */
    public int half() {
        return buf.length() / 2;
    }

    /** This side's node id, domid and queue pair number, as perftest's {@code local address} line shows them. */
    public String local() {
        return "node " + dev.nodeId() + " dom " + dev.domid() + " qpn " + qp.qpn();
    }

    private byte[] key() {
        return ByteBuffer.allocate(KEY_BYTES).putLong(mr.address()).putInt(mr.rkey()).array();
    }

    private void peer(byte[] key) throws VerbsException {
        if (key.length < KEY_BYTES) {
            throw new VerbsException(GuestDevice.EIO, "the peer sent " + key.length
                    + " bytes of private data, not its " + KEY_BYTES + "-byte key");
        }
        ByteBuffer b = ByteBuffer.wrap(key);
        remoteAddress = b.getLong();
        remoteKey = b.getInt();
    }

    private CmEvent event(CmEventType type) throws VerbsException {
        CmEvent e = new CmEvent();
        if (!dev.waitCmEvent(e, WAIT) || e.type() != type) {
            throw new VerbsException(GuestDevice.ETIMEDOUT, "expected " + type + ", got " + e);
        }
        return e;
    }

    /**
     * Waits until the peer disconnects: the server's end of a test, so it never cuts off work the client still
     * has in flight. Another client asking to connect meanwhile is turned away: one test at a time.
     */
    public void awaitDisconnect() throws VerbsException {
        awaitDisconnects(List.of(this), Long.MAX_VALUE);
    }

    /**
     * As {@link #awaitDisconnect()} for endpoints on one device (perftest's {@code -q} on the server): the device
     * has one event queue, so each peer's disconnect is matched to its endpoint by queue pair number. A server
     * serving clients it does not trust bounds the wait: {@code timeoutNanos} after the call, ETIMEDOUT.
     */
    public static void awaitDisconnects(List<Endpoint> eps, long timeoutNanos) throws VerbsException {
        GuestDevice dev = eps.get(0).dev;
        CmEvent e = new CmEvent();
        int open = (int) eps.stream().filter(ep -> !ep.disconnected).count();
        long start = System.nanoTime();
        while (open > 0) {
            long left = timeoutNanos - (System.nanoTime() - start);
            if (left <= 0) {
                throw new VerbsException(GuestDevice.ETIMEDOUT, open + " of " + eps.size()
                        + " connections still open after " + TimeUnit.NANOSECONDS.toSeconds(timeoutNanos) + " s");
            }
            if (!dev.waitCmEvent(e, Math.min(WAIT, left))) {
                continue;
            }
            if (e.type() == CmEventType.CONNECT_REQUEST) {
                dev.reject(e.connectionId(), "busy: one test at a time");
            } else if (e.type() == CmEventType.DISCONNECTED) {
                for (Endpoint ep : eps) {
                    if (!ep.disconnected && ep.qp.qpn() == e.localQpn()) {
                        ep.disconnected = true;
                        open--;
                    }
                }
            }
        }
    }

    /** Disconnects (unless the peer did) and frees everything; the device stays open. */
    public void close() throws VerbsException {
        if (!disconnected) {
            dev.disconnect(qp);
            disconnected = true;
        }
        dev.destroyQp(qp);
        dev.deregister(mr);
        dev.destroyCq(cq);
        dev.deallocPd(pd);
        dev.free(buf);
    }
}
