package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;

/**
 * The server side of a {@link PeerProgram} stream (or the C peer's): listens on a device, accepts with its buffer's
 * address and rkey, takes the rounds the client SENDs, and checks the bytes it RDMA WROTE against the seeded pattern.
 */
final class StreamServer {

    static final long WAIT = TimeUnit.SECONDS.toNanos(30);
    /** Bytes the client writes from offset 0 of the buffer. */
    static final int BYTES = 128 * 1024;
    /** Receives posted at once, each with its own 8-byte slot after the written range. */
    static final int SLOTS = 32;

    final GuestDevice dev;
    final GuestDevice.Pd pd;
    final GuestDevice.Cq cq;
    final GuestBuffer buf;
    final GuestDevice.Region mr;
    final long clientSeed;
    GuestDevice.Qp qp;

    StreamServer(GuestDevice dev, long service, long clientSeed) throws Exception {
        this.dev = dev;
        this.clientSeed = clientSeed;
        pd = dev.allocPd();
        cq = dev.createCq(256);
        buf = dev.allocate(BYTES + 8 * SLOTS);
        mr = dev.register(pd, buf, AccessFlags.LOCAL_WRITE | AccessFlags.REMOTE_WRITE);
        dev.listen(service);
    }

    void accept() throws Exception {
        CmEvent request = event(CmEventType.CONNECT_REQUEST);
        qp = dev.createQp(pd, cq, cq, 64, 64, 1, false);
        byte[] key = ByteBuffer.allocate(12).putLong(mr.address()).putInt(mr.rkey()).array();
        dev.accept(request.connectionId(), qp, key);
        // Receives go on once the queue pair is up; a SEND arriving earlier waits out receiver-not-ready.
        for (int i = 0; i < SLOTS; i++) {
            postRecv(i);
        }
        event(CmEventType.ESTABLISHED);
    }

    void postRecv(long id) throws Exception {
        RecvWorkRequest r = new RecvWorkRequest().wrId(id);
        r.sgl().add(mr.address() + BYTES + 8 * id, 8, mr.lkey());
        dev.postRecv(qp, r);
    }

    /** Waits for the next SEND from the client and returns the round it carries. */
    long nextRound() throws Exception {
        WorkCompletion wc = new WorkCompletion();
        assertThat(dev.waitCq(cq, wc, WAIT)).as("a receive").isTrue();
        assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS);
        long round = buf.buffer().getLong(BYTES + 8 * (int) wc.wrId());
        postRecv(wc.wrId());
        return round;
    }

    CmEvent event(CmEventType type) throws Exception {
        CmEvent e = new CmEvent();
        assertThat(dev.waitCmEvent(e, WAIT)).as("CM event %s", type).isTrue();
        assertThat(e.type()).isEqualTo(type);
        return e;
    }

    void assertPattern() {
        for (int i = 0; i < BYTES; i++) {
            assertThat(buf.buffer().get(i)).as("seed %d byte %d", clientSeed, i)
                    .isEqualTo(PeerProgram.pattern(clientSeed, i));
        }
    }
}
