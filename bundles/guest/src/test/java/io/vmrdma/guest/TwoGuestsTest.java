package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.guest.GuestAbi;
import io.vmrdma.api.guest.SharedRing;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.Partitions;
import io.vmrdma.api.verbs.QpAttributes;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.xen.sim.guest.SimGuest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two guests (each its own simulated domain, attached in this JVM) on one engine, through the backend. */
class TwoGuestsTest {

    static final long WAIT = TimeUnit.SECONDS.toNanos(20);
    static final int ALL = AccessFlags.LOCAL_WRITE | AccessFlags.REMOTE_WRITE | AccessFlags.REMOTE_READ;
    static final int BYTES = 256 * 1024;

    @TempDir
    Path state;
    EngineFixture host;
    long seed = new Random().nextLong();

    @BeforeEach
    void setUp() throws Exception {
        host = new EngineFixture(state);
    }

    @AfterEach
    void tearDown() throws Exception {
        host.close();
    }

    /** One side of a connection: device, objects and a registered buffer. */
    static final class Side {
        final GuestDevice dev;
        final GuestDevice.Pd pd;
        final GuestDevice.Cq cq;
        final GuestDevice.Qp qp;
        final GuestBuffer buf;
        final GuestDevice.Region mr;

        Side(SimGuest guest, GuestDevice.Options options) throws VerbsException {
            this(GuestDevice.open(guest, 0, options), null);
        }

        /** Verbs objects on an open device, registering {@code buffer} (or a new one). */
        Side(GuestDevice dev, GuestBuffer buffer) throws VerbsException {
            this.dev = dev;
            pd = dev.allocPd();
            cq = dev.createCq(256);
            qp = dev.createQp(pd, cq, cq, 64, 64, GuestAbi.MAX_SGE, false);
            buf = buffer != null ? buffer : dev.allocate(BYTES);
            mr = dev.register(pd, buf, ALL);
        }

        WorkCompletion completion() throws VerbsException {
            WorkCompletion wc = new WorkCompletion();
            assertThat(dev.waitCq(cq, wc, WAIT)).as("a completion").isTrue();
            return wc;
        }

        CmEvent event() throws VerbsException {
            CmEvent e = new CmEvent();
            assertThat(dev.waitCmEvent(e, WAIT)).as("a CM event").isTrue();
            return e;
        }
    }

    /** Connects a (client) to b (server) through the connection manager, exchanging address and rkey. */
    static void connect(Side a, Side b, long service) throws VerbsException {
        b.dev.listen(service);
        long id = a.dev.connect(a.qp, a.dev.nodeId(), service, -1, keyOf(a));
        CmEvent request = b.event();
        assertThat(request.type()).isEqualTo(CmEventType.CONNECT_REQUEST);
        assertThat(request.remote()).isEqualTo(a.qp.address());
        assertThat(request.privateData()).isEqualTo(keyOf(a));
        b.dev.accept(request.connectionId(), b.qp, keyOf(b));
        CmEvent up = a.event();
        assertThat(up.type()).isEqualTo(CmEventType.ESTABLISHED);
        assertThat(up.connectionId()).isEqualTo(id);
        assertThat(up.privateData()).isEqualTo(keyOf(b));
        assertThat(b.event().type()).isEqualTo(CmEventType.ESTABLISHED);
    }

    static byte[] keyOf(Side s) {
        return ByteBuffer.allocate(12).putLong(s.mr.address()).putInt(s.mr.rkey()).array();
    }

    void fill(GuestBuffer b, long salt) {
        Random r = new Random(seed ^ salt);
        byte[] bytes = new byte[b.length()];
        r.nextBytes(bytes);
        b.buffer().put(0, bytes);
    }

    static byte[] bytes(GuestBuffer b, int offset, int length) {
        byte[] out = new byte[length];
        b.buffer().get(offset, out);
        return out;
    }

    @Test
    void twoGuestsExchangeEveryVerbByteIdentical() throws Exception {
        Side a = new Side(host.guest("alpha"), GuestDevice.Options.defaults());
        Side b = new Side(host.guest("beta"), GuestDevice.Options.defaults().straightToConnected(true));
        connect(a, b, 7);
        fill(a.buf, 1);
        fill(b.buf, 2);
        String why = "seed " + seed;

        // RDMA WRITE, two SGEs gathered into one remote range.
        SendWorkRequest w = new SendWorkRequest().wrId(11).opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                .remoteAddress(b.mr.address() + 100).rkey(b.mr.rkey());
        w.sgl().add(a.mr.address(), 70_000, a.mr.lkey()).add(a.mr.address() + 200_000, 30_000, a.mr.lkey());
        a.dev.postSend(a.qp, w);
        WorkCompletion wc = a.completion();
        assertThat(wc.wrId()).isEqualTo(11);
        assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS);
        assertThat(wc.opcode()).isEqualTo(WcOpcode.RDMA_WRITE);
        assertThat(bytes(b.buf, 100, 70_000)).as(why).isEqualTo(bytes(a.buf, 0, 70_000));
        assertThat(bytes(b.buf, 70_100, 30_000)).as(why).isEqualTo(bytes(a.buf, 200_000, 30_000));

        // SEND into a posted receive, scattered over two entries.
        RecvWorkRequest rr = new RecvWorkRequest().wrId(21);
        rr.sgl().add(b.mr.address() + 150_000, 500, b.mr.lkey()).add(b.mr.address() + 160_000, 2_000, b.mr.lkey());
        b.dev.postRecv(b.qp, rr);
        SendWorkRequest s = new SendWorkRequest().wrId(12).opcode(Opcode.SEND_WITH_IMM).immData(0xC0FFEE)
                .sendFlags(SendFlags.SIGNALED);
        s.sgl().add(a.mr.address() + 5_000, 1_200, a.mr.lkey());
        a.dev.postSend(a.qp, s);
        assertThat(a.completion().status()).isEqualTo(WcStatus.SUCCESS);
        WorkCompletion recv = b.completion();
        assertThat(recv.wrId()).isEqualTo(21);
        assertThat(recv.opcode()).isEqualTo(WcOpcode.RECV);
        assertThat(recv.byteLength()).isEqualTo(1_200);
        assertThat(recv.withImm()).isTrue();
        assertThat(recv.immData()).isEqualTo(0xC0FFEE);
        assertThat(bytes(b.buf, 150_000, 500)).as(why).isEqualTo(bytes(a.buf, 5_000, 500));
        assertThat(bytes(b.buf, 160_000, 700)).as(why).isEqualTo(bytes(a.buf, 5_500, 700));

        // RDMA READ from b into a.
        SendWorkRequest r = new SendWorkRequest().wrId(13).opcode(Opcode.RDMA_READ).sendFlags(SendFlags.SIGNALED)
                .remoteAddress(b.mr.address() + 210_000).rkey(b.mr.rkey());
        r.sgl().add(a.mr.address() + 100_000, 40_000, a.mr.lkey());
        a.dev.postSend(a.qp, r);
        assertThat(a.completion().opcode()).isEqualTo(WcOpcode.RDMA_READ);
        assertThat(bytes(a.buf, 100_000, 40_000)).as(why).isEqualTo(bytes(b.buf, 210_000, 40_000));

        // RDMA WRITE_WITH_IMM consumes a receive at b.
        b.dev.postRecv(b.qp, new RecvWorkRequest().wrId(22));
        SendWorkRequest wi = new SendWorkRequest().wrId(14).opcode(Opcode.RDMA_WRITE_WITH_IMM).immData(7)
                .sendFlags(SendFlags.SIGNALED).remoteAddress(b.mr.address()).rkey(b.mr.rkey());
        wi.sgl().add(a.mr.address() + 250_000, 6_000, a.mr.lkey());
        a.dev.postSend(a.qp, wi);
        assertThat(a.completion().status()).isEqualTo(WcStatus.SUCCESS);
        WorkCompletion wir = b.completion();
        assertThat(wir.opcode()).isEqualTo(WcOpcode.RECV_RDMA_WITH_IMM);
        assertThat(wir.immData()).isEqualTo(7);
        assertThat(bytes(b.buf, 0, 6_000)).as(why).isEqualTo(bytes(a.buf, 250_000, 6_000));

        // A write outside b's region: REM_ACCESS_ERR, nothing written, the queue pair goes to ERR.
        byte[] before = bytes(b.buf, 0, BYTES);
        SendWorkRequest bad = new SendWorkRequest().wrId(15).opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                .remoteAddress(b.mr.address() + BYTES - 10).rkey(b.mr.rkey());
        bad.sgl().add(a.mr.address(), 100, a.mr.lkey());
        a.dev.postSend(a.qp, bad);
        assertThat(a.completion().status()).isEqualTo(WcStatus.REM_ACCESS_ERR);
        assertThat(bytes(b.buf, 0, BYTES)).isEqualTo(before);

        // Disconnect: both sides told.
        a.dev.disconnect(a.qp);
        assertThat(a.event().type()).isEqualTo(CmEventType.DISCONNECTED);
        assertThat(b.event().type()).isEqualTo(CmEventType.DISCONNECTED);

        // Out-of-band connection by modify, as perftest does over TCP, on fresh queue pairs.
        GuestDevice.Qp qa = a.dev.createQp(a.pd, a.cq, a.cq, 16, 16, 1, true);
        GuestDevice.Qp qb = b.dev.createQp(b.pd, b.cq, b.cq, 16, 16, 1, true);
        bringUp(a.dev, qa, qb);
        bringUp(b.dev, qb, qa);
        SendWorkRequest w2 = new SendWorkRequest().wrId(31).opcode(Opcode.RDMA_WRITE)
                .remoteAddress(b.mr.address()).rkey(b.mr.rkey());
        w2.sgl().add(a.mr.address() + 1, 4_096, a.mr.lkey());
        a.dev.postSend(qa, w2);
        assertThat(a.completion().wrId()).as("signalAll").isEqualTo(31);
        assertThat(bytes(b.buf, 0, 4_096)).isEqualTo(bytes(a.buf, 1, 4_096));

        // Teardown in verbs order.
        a.dev.destroyQp(qa);
        b.dev.destroyQp(qb);
        assertThatThrownBy(() -> a.dev.deallocPd(a.pd)).isInstanceOf(VerbsException.class)
                .extracting(e -> ((VerbsException) e).errno()).isEqualTo(VerbsErrno.EBUSY);
        for (Side side : new Side[] {a, b}) {
            side.dev.destroyQp(side.qp);
            side.dev.deregister(side.mr);
            side.dev.destroyCq(side.cq);
            side.dev.deallocPd(side.pd);
            side.dev.free(side.buf);
        }
        assertThat(host.engine.domains()).hasSize(2);
        a.dev.close();
        b.dev.close();
        host.await(() -> host.engine.domains().isEmpty(), "both domains closed in the engine");
    }

    static void bringUp(GuestDevice dev, GuestDevice.Qp qp, GuestDevice.Qp remote) throws VerbsException {
        dev.modifyQp(qp, new QpAttributes().state(QpState.INIT).pkey(Partitions.DEFAULT_PKEY));
        dev.modifyQp(qp, new QpAttributes().state(QpState.RTR).remote(remote.address()));
        dev.modifyQp(qp, new QpAttributes().state(QpState.RTS));
    }

    @Test
    void largeRegionsUseIndirectPagesAndPollingWorks() throws Exception {
        Side a = new Side(host.guest("alpha"), GuestDevice.Options.defaults().polling(true));
        Side b = new Side(host.guest("beta"), GuestDevice.Options.defaults().ringPageOrder(0));
        GuestBuffer big = b.dev.allocate(2 << 20);
        GuestDevice.Region bigMr = b.dev.register(b.pd, big, ALL);
        connect(a, b, 9);
        fill(a.buf, 3);
        for (int i = 0; i < 8; i++) {
            SendWorkRequest w = new SendWorkRequest().wrId(i).opcode(Opcode.RDMA_WRITE)
                    .sendFlags(SendFlags.SIGNALED).remoteAddress(bigMr.address() + (long) i * BYTES)
                    .rkey(bigMr.rkey());
            w.sgl().add(a.mr.address(), BYTES, a.mr.lkey());
            a.dev.postSend(a.qp, w);
        }
        for (int i = 0; i < 8; i++) {
            WorkCompletion wc = a.completion();
            assertThat(wc.wrId()).isEqualTo(i);
            assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS);
            assertThat(bytes(big, i * BYTES, BYTES)).as("seed %d part %d", seed, i).isEqualTo(bytes(a.buf, 0, BYTES));
        }
        a.dev.close();
        b.dev.close();
    }

    @Test
    void aMisbehavingGuestGetsErrorsThenIsDisabledWhileOthersKeepWorking() throws Exception {
        Side a = new Side(host.guest("alpha"), GuestDevice.Options.defaults());
        Side b = new Side(host.guest("beta"), GuestDevice.Options.defaults());
        connect(a, b, 5);
        SimGuest evilGuest = host.guest("mallory");
        GuestDevice evil = GuestDevice.open(evilGuest, 0, GuestDevice.Options.defaults());
        Random random = new Random(seed);

        // Garbage: every opcode with random arguments; each gets an errno or succeeds on its own objects only.
        byte[] entry = new byte[GuestAbi.ENTRY_LENGTH];
        for (int i = 0; i < 300; i++) {
            random.nextBytes(entry);
            int status = evil.rawRequest(entry);
            assertThat(status).as("seed %d request %d", seed, i).isLessThanOrEqualTo(0);
        }
        // Garbage with handles that are its own: every argument else random.
        GuestDevice.Pd ownPd = evil.allocPd();
        GuestDevice.Cq ownCq = evil.createCq(16);
        GuestDevice.Qp ownQp = evil.createQp(ownPd, ownCq, ownCq, 8, 8, 1, false);
        ByteBuffer raw = ByteBuffer.wrap(entry).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 500; i++) {
            random.nextBytes(entry);
            int op = 1 + random.nextInt(GuestAbi.OP_MAX);
            raw.put(GuestAbi.REQ_OP, (byte) op);
            raw.putInt(GuestAbi.REQ_ARG0, op == GuestAbi.OP_CREATE_QP || op == GuestAbi.OP_REG_MR ? ownPd.handle()
                    : op == GuestAbi.OP_CREATE_CQ ? random.nextInt(70_000) - 10 : ownQp.qpn());
            raw.putInt(GuestAbi.REQ_ARG1, op == GuestAbi.OP_CREATE_QP ? ownCq.handle() : random.nextInt(9) - 1);
            raw.putInt(GuestAbi.REQ_ARG2, op == GuestAbi.OP_CREATE_QP ? ownCq.handle() : raw.getInt(GuestAbi.REQ_ARG2));
            if (op == GuestAbi.OP_CREATE_QP) {
                raw.putInt(GuestAbi.REQ_ARG3, random.nextInt(40) - 8).putInt(GuestAbi.REQ_ARG4, random.nextInt(40) - 8)
                        .putInt(GuestAbi.REQ_ARG5, random.nextInt(8) - 2);
            }
            if (op == GuestAbi.OP_DESTROY_QP || op == GuestAbi.OP_DESTROY_CQ || op == GuestAbi.OP_DEALLOC_PD) {
                continue;
            }
            assertThat(evil.rawRequest(entry)).as("seed %d own-handle request %d (op %d)", seed, i, op)
                    .isLessThanOrEqualTo(0);
        }
        assertThat(host.backends.unexpected(evilGuest.selfDomid())).as("requests the engine threw on").isZero();
        host.assertHealthy();
        // Another domain's handles.
        byte[] steal = new byte[GuestAbi.ENTRY_LENGTH];
        ByteBuffer s = ByteBuffer.wrap(steal).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        s.put(GuestAbi.REQ_OP, (byte) GuestAbi.OP_DESTROY_QP).putInt(GuestAbi.REQ_ARG0, a.qp.qpn());
        assertThat(evil.rawRequest(steal)).isEqualTo(-VerbsErrno.EINVAL);
        s.put(GuestAbi.REQ_OP, (byte) GuestAbi.OP_DEREG_MR).putInt(GuestAbi.REQ_ARG0, a.mr.lkey());
        assertThat(evil.rawRequest(steal)).isEqualTo(-VerbsErrno.EINVAL);
        // Refs it did not grant: the registration is refused, nothing mapped.
        GuestDevice.Pd pd = evil.allocPd();
        java.util.Arrays.fill(steal, (byte) 0);
        s.put(GuestAbi.REQ_OP, (byte) GuestAbi.OP_REG_MR).putInt(GuestAbi.MR_PD, pd.handle())
                .putInt(GuestAbi.MR_ACCESS, ALL).putLong(GuestAbi.MR_LENGTH, 8192).putInt(GuestAbi.MR_PAGES, 2)
                .putInt(GuestAbi.MR_REFS, 5000).putInt(GuestAbi.MR_REFS + 4, 5001);
        assertThat(evil.rawRequest(steal)).isEqualTo(-VerbsErrno.EPERM);

        // The other guests still work, byte for byte, while the evil guest floods its ring with garbage.
        java.util.concurrent.atomic.AtomicBoolean flooding = new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.concurrent.atomic.AtomicLong flood = new java.util.concurrent.atomic.AtomicLong();
        Thread flooder = new Thread(() -> {
            byte[] junk = new byte[GuestAbi.ENTRY_LENGTH];
            Random r = new Random(seed + 1);
            try {
                while (flooding.get()) {
                    r.nextBytes(junk);
                    junk[GuestAbi.REQ_OP] = (byte) (GuestAbi.OP_MAX + 1 + r.nextInt(100));
                    evil.rawRequest(junk);
                    flood.incrementAndGet();
                }
            } catch (VerbsException e) {
                throw new IllegalStateException(e);
            }
        }, "flood");
        flooder.start();
        fill(a.buf, 4);
        for (int i = 0; i < 20; i++) {
            writeAndCheck(a, b, 100 + i);
        }
        flooding.set(false);
        flooder.join();
        assertThat(flood.get()).as("the flood ran").isPositive();
        writeAndCheck(a, b, 1);

        // Ring indices out of range: the backend of the evil guest is disabled, and only it.
        SharedRing ring = evil.commandRing();
        ring.set(SharedRing.REQ_PROD, ring.get(SharedRing.RSP_PROD) + 5 * ring.size());
        host.await(() -> host.backends.disabled(evilGuest.selfDomid()), "the evil guest's backend disabled");
        assertThatThrownBy(evil::allocPd).isInstanceOf(VerbsException.class);
        assertThat(host.engine.domain(evilGuest.selfDomid())).isEmpty();
        writeAndCheck(a, b, 2);
        evil.close();
        a.dev.close();
        b.dev.close();
    }

    @Test
    void guestsReattachWhenDom0sVmrdmaRestartsUnderThem() throws Exception {
        SimGuest ga = host.guest("alpha");
        SimGuest gb = host.guest("beta");
        Side a = new Side(ga, GuestDevice.Options.defaults());
        Side b = new Side(gb, GuestDevice.Options.defaults().straightToConnected(true));
        connect(a, b, 5);
        fill(a.buf, 5);
        writeAndCheck(a, b, 1);

        host.restartDom0();
        host.await(() -> !a.dev.connected() || host.backends.connected(ga.selfDomid()), "alpha sees its backend go");
        assertThatThrownBy(a.dev::allocPd).isInstanceOf(VerbsException.class);

        // Same devices, same processes: re-attach, rebuild the verbs objects, exchange again.
        a.dev.reattach();
        b.dev.reattach();
        Side a2 = new Side(a.dev, a.buf);
        Side b2 = new Side(b.dev, b.buf);
        connect(a2, b2, 5);
        fill(a.buf, 6);
        writeAndCheck(a2, b2, 2);
        a.dev.close();
        b.dev.close();
    }

    void writeAndCheck(Side a, Side b, long wrId) throws VerbsException {
        SendWorkRequest w = new SendWorkRequest().wrId(wrId).opcode(Opcode.RDMA_WRITE)
                .sendFlags(SendFlags.SIGNALED).remoteAddress(b.mr.address()).rkey(b.mr.rkey());
        w.sgl().add(a.mr.address(), BYTES, a.mr.lkey());
        a.dev.postSend(a.qp, w);
        WorkCompletion wc = a.completion();
        assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS);
        assertThat(bytes(b.buf, 0, BYTES)).as("seed %d", seed).isEqualTo(bytes(a.buf, 0, BYTES));
    }
}
