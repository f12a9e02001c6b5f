package io.vmrdma.guest.bench;

import java.nio.ByteBuffer;
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
 * as private data, where perftest uses its TCP side channel).
 */
public final class Endpoint {

    static final long WAIT = TimeUnit.SECONDS.toNanos(30);
    /** Send-queue depth: perftest's default {@code tx_depth} for bandwidth tests. */
    public static final int DEPTH = 128;

    final GuestDevice dev;
    final GuestDevice.Pd pd;
    final GuestDevice.Cq cq;
    final GuestBuffer buf;
    final GuestDevice.Region mr;
    GuestDevice.Qp qp;
    long remoteAddress;
    int remoteKey;
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

    /** Connects to {@code service} on {@code node} and returns once the connection is established. */
    public static Endpoint client(GuestDevice dev, int node, long service, int bytes) throws VerbsException {
        Endpoint e = new Endpoint(dev, bytes);
        dev.connect(e.qp, node, service, -1, e.key());
        e.peer(e.event(CmEventType.ESTABLISHED).privateData());
        return e;
    }

    /** The registered buffer. */
    public GuestBuffer buffer() {
        return buf;
    }

    private byte[] key() {
        return ByteBuffer.allocate(12).putLong(mr.address()).putInt(mr.rkey()).array();
    }

    private void peer(byte[] key) {
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
     * has in flight.
     */
    public void awaitDisconnect() throws VerbsException {
        CmEvent e = new CmEvent();
        while (!disconnected) {
            if (dev.waitCmEvent(e, WAIT) && e.type() == CmEventType.DISCONNECTED) {
                disconnected = true;
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
