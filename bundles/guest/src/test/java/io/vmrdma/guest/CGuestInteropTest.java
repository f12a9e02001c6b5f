package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.guest.bench.Perftest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The C guest library (native/, libvmrdma) against the Java one, through the Java dom0 engine: a C guest process
 * ({@code vmrdma_interop_peer}, started by the simulator's toolstack) and a Java guest attached in this JVM exchange
 * every verb (SEND, SEND_WITH_IMM, RDMA_WRITE, RDMA_WRITE_WITH_IMM, RDMA_READ, both directions) and every
 * connection-manager call (listen, connect, reject, accept, disconnect, stop listening), checking every byte of
 * seeded data on both sides; then a C guest killed with SIGKILL mid-transfer leaves the engine and the Java guest
 * healthy.
 *
 * <p>The C binaries come from {@code -Dvmrdma.native.dir} (surefire sets it to {@code native/build/plain});
 * ./test.sh builds them before Maven runs. Missing binaries fail the test: it never skips.
 */
class CGuestInteropTest {

    static final long WAIT = TimeUnit.SECONDS.toNanos(30);
    /** Buffer layout, the same on both sides: DATA (peer's target), OUT (local sources), IN (receive slots). */
    static final int DATA = 0;
    static final int OUT = 65536;
    static final int IN = 131072;
    static final int SLOT = 8192;
    static final int SLOTS = 8;
    static final int TOTAL = IN + SLOTS * SLOT;
    static final int STREAM_BYTES = 128 * 1024;

    @TempDir
    Path state;
    EngineFixture host;
    final long seed = new Random().nextLong() >>> 16;
    CGuestInteropGuests guests;

    @BeforeEach
    void setUp() throws Exception {
        host = new EngineFixture(state);
        guests = new CGuestInteropGuests(host, state, 16 << 20);
    }

    @AfterEach
    void tearDown() throws Exception {
        host.close();
    }

    /** The Java side: one device, one registered buffer, separate send and receive completion queues. */
    final class JavaGuest {
        final GuestDevice dev;
        final GuestDevice.Pd pd;
        final GuestDevice.Cq scq;
        final GuestDevice.Cq rcq;
        final GuestBuffer buf;
        final GuestDevice.Region mr;
        final ByteBuffer mem;
        final WorkCompletion wc = new WorkCompletion();
        long nextId = 1;

        JavaGuest(String name) throws Exception {
            this(GuestDevice.open(host.guest(name), 0, GuestDevice.Options.defaults()), null);
        }

        /** New verbs objects on {@code dev}, with {@code buffer} (after a re-attach) or a new one. */
        JavaGuest(GuestDevice device, GuestBuffer buffer) throws Exception {
            dev = device;
            pd = dev.allocPd();
            scq = dev.createCq(64);
            rcq = dev.createCq(64);
            buf = buffer != null ? buffer : dev.allocate(TOTAL);
            mr = dev.register(pd, buf, AccessFlags.LOCAL_WRITE | AccessFlags.REMOTE_WRITE | AccessFlags.REMOTE_READ);
            mem = buf.buffer();
        }

        GuestDevice.Qp newQp() throws Exception {
            return dev.createQp(pd, scq, rcq, 32, 32, 2, true);
        }

        byte[] key() {
            return ByteBuffer.allocate(12).putLong(mr.address()).putInt(mr.rkey()).array();
        }

        void postRecv(GuestDevice.Qp qp, long slot) throws Exception {
            RecvWorkRequest r = new RecvWorkRequest().wrId(slot);
            r.sgl().add(mr.address() + IN + slot * SLOT, SLOT, mr.lkey());
            dev.postRecv(qp, r);
        }

        void fill(int at, int n, long s) {
            for (int i = 0; i < n; i++) {
                mem.put(at + i, pattern(s, i));
            }
        }

        void expectBytes(String what, int at, int n, long s) {
            for (int i = 0; i < n; i++) {
                if (mem.get(at + i) != pattern(s, i)) {
                    fail(what + ": byte " + i + " is " + mem.get(at + i) + ", expected " + pattern(s, i) + " (seed "
                            + seed + ")");
                }
            }
        }

        /** Posts one signaled request and waits for its successful completion. */
        void post(GuestDevice.Qp qp, Opcode op, int local, int len, long remote, int rkey, int imm) throws Exception {
            SendWorkRequest wr = new SendWorkRequest().opcode(op).sendFlags(SendFlags.SIGNALED).wrId(nextId++)
                    .remoteAddress(remote).rkey(rkey).immData(imm);
            wr.sgl().add(mr.address() + local, len, mr.lkey());
            dev.postSend(qp, wr);
            assertThat(dev.waitCq(scq, wc, WAIT)).as("completion of %s", op).isTrue();
            assertThat(wc.status()).as("%s", op).isEqualTo(WcStatus.SUCCESS);
            assertThat(wc.wrId()).isEqualTo(wr.wrId());
        }

        void sendCtrl(GuestDevice.Qp qp, int step) throws Exception {
            int at = OUT + 65536 - 16;
            mem.putInt(at, step).putInt(at + 4, 0).putLong(at + 8, 0);
            post(qp, Opcode.SEND, at, 16, 0, 0, 0);
        }

        /**
         * The next receive: checks opcode, length and immediate; reposts the slot; returns its offset. Only for
         * exchanges where the peer waits for an answer: once reposted, the slot may be overwritten.
         */
        int recv(GuestDevice.Qp qp, WcOpcode op, boolean withImm, int imm, int len) throws Exception {
            int at = take(qp, op, withImm, imm, len);
            postRecv(qp, (at - IN) / SLOT);
            return at;
        }

        /** The next receive, checked; returns its slot's offset without reposting it. */
        int take(GuestDevice.Qp qp, WcOpcode op, boolean withImm, int imm, int len) throws Exception {
            assertThat(dev.waitCq(rcq, wc, WAIT)).as("a receive (%s)", op).isTrue();
            assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS);
            assertThat(wc.opcode()).isEqualTo(op);
            assertThat(wc.byteLength()).isEqualTo(len);
            assertThat(wc.qpn()).isEqualTo(qp.qpn());
            assertThat(wc.withImm()).isEqualTo(withImm);
            if (withImm) {
                assertThat(wc.immData()).isEqualTo(imm);
            }
            return IN + (int) wc.wrId() * SLOT;
        }

        /** A control message from the C guest; returns its status word. */
        int expectCtrl(GuestDevice.Qp qp, int step) throws Exception {
            int at = recv(qp, WcOpcode.RECV, false, 0, 16);
            assertThat(mem.getInt(at)).as("control step").isEqualTo(step);
            return mem.getInt(at + 4);
        }

        CmEvent event(CmEventType type) throws Exception {
            CmEvent e = new CmEvent();
            assertThat(dev.waitCmEvent(e, WAIT)).as("CM event %s", type).isTrue();
            assertThat(e.type()).as("CM event").isEqualTo(type);
            return e;
        }
    }

    @Test
    void aCGuestAndAJavaGuestExchangeEveryVerbByteIdentical() throws Exception {
        Path peer = CGuestInteropGuests.nativeBinary("vmrdma_interop_peer");
        long serviceC = 7100;
        long serviceJ = 7200;
        JavaGuest j = new JavaGuest("java-guest");
        j.dev.listen(serviceJ);
        int c = guests.start("c-guest", List.of(peer.toString(), "verbs", Long.toString(seed), Long.toString(serviceC),
                Long.toString(serviceJ)));

        // Phase A: the C guest listens and rejects the first request ("not yet"); the second is accepted.
        GuestDevice.Qp qp = null;
        CmEvent e = new CmEvent();
        boolean rejectedByC = false;
        long deadline = System.nanoTime() + WAIT;
        while (true) {
            qp = j.newQp();
            j.dev.connect(qp, j.dev.nodeId(), serviceC, -1, j.key());
            assertThat(j.dev.waitCmEvent(e, WAIT)).as("answer to connect").isTrue();
            if (e.type() == CmEventType.ESTABLISHED) {
                break;
            }
            j.dev.destroyQp(qp);
            if (e.type() == CmEventType.REJECTED && e.reason().equals("not yet")) {
                rejectedByC = true;
            } else {
                assertThat(rejectedByC).as("refused after the C guest's reject: %s", e).isFalse();
                assertThat(System.nanoTime()).as("the C guest listens in time; console:\n%s", guests.output(c))
                        .isLessThan(deadline);
                Thread.sleep(20); // the C guest is not listening yet
            }
        }
        assertThat(rejectedByC).as("the C guest's vmrdma_reject arrived with its reason").isTrue();
        assertThat(e.remote()).isNotNull();
        assertThat(e.remote().domid()).isEqualTo(c);
        ByteBuffer ck = ByteBuffer.wrap(e.privateData());
        long caddr = ck.getLong();
        int ckey = ck.getInt();
        for (int s = 0; s < SLOTS; s++) {
            j.postRecv(qp, s);
        }
        j.sendCtrl(qp, 1);

        int at = j.recv(qp, WcOpcode.RECV, false, 0, 5000);
        j.expectBytes("SEND from C", at, 5000, seed + 1);
        at = j.recv(qp, WcOpcode.RECV, true, 0xC0FFEE02, 3000);
        j.expectBytes("SEND_WITH_IMM from C", at, 3000, seed + 2);
        j.expectCtrl(qp, 4);
        j.expectBytes("RDMA WRITE from C", DATA, 65536, seed + 3);
        j.sendCtrl(qp, 5);
        j.recv(qp, WcOpcode.RECV_RDMA_WITH_IMM, true, 0xC0FFEE04, 40000);
        j.expectBytes("RDMA WRITE_WITH_IMM from C", DATA + 1000, 40000, seed + 4);
        j.fill(DATA, 65536, seed + 5);
        j.sendCtrl(qp, 6);
        assertThat(j.expectCtrl(qp, 6)).as("the C guest's RDMA READ of Java memory matched").isZero();

        j.fill(OUT, 5000, seed + 7);
        j.post(qp, Opcode.SEND, OUT, 5000, 0, 0, 0);
        j.fill(OUT, 3000, seed + 8);
        j.post(qp, Opcode.SEND_WITH_IMM, OUT, 3000, 0, 0, 0x7A7A0008);
        j.fill(OUT, 65536, seed + 9);
        j.post(qp, Opcode.RDMA_WRITE, OUT, 65536, caddr + DATA, ckey, 0);
        j.sendCtrl(qp, 8);
        j.expectCtrl(qp, 18); // the C guest checked the WRITE before part of it is overwritten
        j.fill(OUT, 40000, seed + 10);
        j.post(qp, Opcode.RDMA_WRITE_WITH_IMM, OUT, 40000, caddr + DATA + 1000, ckey, 0x7A7A000A);
        j.expectCtrl(qp, 9);
        j.mem.put(OUT, new byte[65536]);
        j.post(qp, Opcode.RDMA_READ, OUT, 65536, caddr + DATA, ckey, 0);
        assertThat(j.wc.byteLength()).isEqualTo(65536);
        j.expectBytes("RDMA READ from C", OUT, 65536, seed + 11);
        j.sendCtrl(qp, 10);
        assertThat(j.expectCtrl(qp, 11)).as("failed checks on the C side; console:\n%s", guests.output(c)).isZero();
        j.event(CmEventType.DISCONNECTED);
        int flushed = 0;
        while (j.dev.waitCq(j.rcq, j.wc, TimeUnit.SECONDS.toNanos(2))) {
            assertThat(j.wc.status()).isEqualTo(WcStatus.WR_FLUSH_ERR);
            flushed++;
        }
        assertThat(flushed).as("receives flushed after the C guest disconnected").isEqualTo(SLOTS);
        j.dev.destroyQp(qp);

        // Phase B: the Java guest listens, the C guest connects.
        CmEvent request = j.event(CmEventType.CONNECT_REQUEST);
        assertThat(request.serviceId()).isEqualTo(serviceJ);
        assertThat(request.remote().domid()).isEqualTo(c);
        qp = j.newQp();
        j.dev.accept(request.connectionId(), qp, j.key());
        for (int s = 0; s < SLOTS; s++) {
            j.postRecv(qp, s);
        }
        j.event(CmEventType.ESTABLISHED);
        j.dev.stopListening(serviceJ);
        j.expectCtrl(qp, 20);
        j.fill(OUT, 777, seed + 12);
        j.post(qp, Opcode.SEND, OUT, 777, 0, 0, 0);
        assertThat(j.expectCtrl(qp, 21)).as("failed checks on the C side; console:\n%s", guests.output(c)).isZero();
        j.expectBytes("RDMA WRITE from the C connector", DATA, 4096, seed + 13);
        j.dev.disconnect(qp);

        guests.awaitGone(c);
        assertThat(guests.exitStatus(c)).as("the C guest's exit status; output:\n%s", guests.output(c)).isEqualTo("0");
        assertThat(guests.output(c)).contains("interop: PASS");
        j.dev.destroyQp(qp);
        j.dev.close();
        host.assertHealthy();
    }

    @Test
    void aCGuestKilledMidTransferLeavesTheEngineAndTheJavaGuestHealthy() throws Exception {
        Path peer = CGuestInteropGuests.nativeBinary("vmrdma_interop_peer");
        long service = 7300;
        JavaGuest j = new JavaGuest("java-server");
        j.dev.listen(service);
        int victim = startStream(peer, "c-victim", service, -1, false);
        GuestDevice.Qp qp = acceptStream(j);
        for (long r = 1; r <= 5; r++) {
            assertThat(nextRound(j, qp)).isEqualTo(r);
        }
        ProcessHandle.of(guests.pid(victim)).orElseThrow().destroyForcibly(); // SIGKILL
        j.event(CmEventType.DISCONNECTED);
        // Every receive still posted completes: first those the dead guest's last SENDs used (in order, the next
        // rounds), then the rest flushed. A fast sender may have used them all before the kill.
        int flushed = 0;
        long round = 6;
        while (flushed + (round - 6) < SLOTS) {
            assertThat(j.dev.waitCq(j.rcq, j.wc, WAIT)).as("flush %d", flushed).isTrue();
            if (flushed == 0 && j.wc.status() == WcStatus.SUCCESS) {
                assertThat(j.mem.getLong(IN + (int) j.wc.wrId() * SLOT)).as("round").isEqualTo(round++);
            } else {
                assertThat(j.wc.status()).isEqualTo(WcStatus.WR_FLUSH_ERR);
                flushed++;
            }
        }
        assertThat(j.dev.pollCq(j.rcq, j.wc)).as("nothing after the flushes").isFalse();
        j.dev.destroyQp(qp);
        guests.awaitGone(victim);
        host.await(() -> host.engine.domain(victim).isEmpty() && !host.backends.connected(victim),
                "the dead C guest's domain closed");
        assertStreamPattern(j);

        // The engine and the Java guest go on with a new C guest.
        int second = startStream(peer, "c-second", service, 3, true);
        qp = acceptStream(j);
        for (long r = 1; r <= 3; r++) {
            assertThat(nextRound(j, qp)).isEqualTo(r);
        }
        assertStreamPattern(j);
        guests.awaitGone(second);
        assertThat(guests.exitStatus(second)).as("exit status; output:\n%s", guests.output(second)).isEqualTo("0");
        assertThat(guests.output(second)).contains("peer: done");
        j.dev.destroyQp(qp);
        j.dev.close();
        host.assertHealthy();
    }

    @Test
    void theCPerftestToolsRunBetweenCGuestsAndAgainstTheJavaTool() throws Exception {
        String bw = Perftest.Bandwidth.header();
        String lat = Perftest.Latency.header();
        Pattern bwRow = Pattern.compile("^ (\\d+) +(\\d+) +(\\d+\\.\\d\\d) +(\\d+\\.\\d\\d) +(\\d+\\.\\d{6})$",
                Pattern.MULTILINE);
        Pattern latRow = Pattern.compile("^ (\\d+) +(\\d+)( +\\d+\\.\\d\\d){7}$", Pattern.MULTILINE);

        String out = tool("vmrdma_write_bw", 7401, List.of("-s", "4096", "-n", "300", "--json"));
        assertThat(out).contains(bw);
        Matcher m = bwRow.matcher(out);
        assertThat(m.find()).as("a bandwidth row in:\n%s", out).isTrue();
        assertThat(m.group(1)).isEqualTo("4096");
        assertThat(m.group(2)).isEqualTo("300");
        assertThat(Double.parseDouble(m.group(4))).isPositive();
        assertThat(out).contains("{\"test\":\"ib_write_bw\",\"bytes\":4096,\"iterations\":300,");

        out = tool("vmrdma_read_bw", 7402, List.of("-s", "65536", "-n", "100", "-e"));
        assertThat(out).contains(bw);
        assertThat(bwRow.matcher(out).find()).as("a row in:\n%s", out).isTrue();

        out = tool("vmrdma_write_bw", 7403, List.of("-a", "-m", "16384", "-n", "40"));
        m = bwRow.matcher(out);
        List<String> sizes = new java.util.ArrayList<>();
        while (m.find()) {
            sizes.add(m.group(1));
        }
        assertThat(sizes).as("-a: every power of two").containsExactly("2", "4", "8", "16", "32", "64", "128", "256",
                "512", "1024", "2048", "4096", "8192", "16384");

        out = tool("vmrdma_write_bw", 7408, List.of("-D", "1", "-s", "4096", "-e"));
        m = bwRow.matcher(out);
        assertThat(m.find()).as("a -D row in:\n%s", out).isTrue();
        assertThat(Long.parseLong(m.group(2)) % 16).as("-D stops at a signaled request").isZero();
        assertThat(out).contains("Duration mode");

        out = tool("vmrdma_write_lat", 7404, List.of("-s", "8", "-n", "300"));
        assertThat(out).contains(lat);
        m = latRow.matcher(out);
        assertThat(m.find()).as("a latency row in:\n%s", out).isTrue();
        assertThat(m.group(1)).isEqualTo("8");
        assertThat(m.group(2)).isEqualTo("300");

        out = tool("vmrdma_send_lat", 7405, List.of("-s", "64", "-n", "200", "-e"));
        assertThat(out).contains(lat);
        assertThat(latRow.matcher(out).find()).as("a row in:\n%s", out).isTrue();

        // A C client against the Java GuestTool's server, and a Java client against a C server.
        Path cbw = CGuestInteropGuests.nativeBinary("vmrdma_write_bw");
        int jserver = guests.start("java-bench-server", EngineFixture.javaGuest(
                "io.vmrdma.guest.internal.GuestTool", "bench", "write_bw", "server", "7406", "65536", "200"));
        guests.awaitOutput(jserver, "bench: listening");
        int cclient = guests.start("c-bench-client", List.of(cbw.toString(), "-p", "7406", "-s", "65536", "-n",
                "200", "1"));
        guests.awaitGone(cclient);
        guests.awaitGone(jserver);
        assertThat(guests.exitStatus(cclient)).as("C client:\n%s", guests.output(cclient)).isEqualTo("0");
        assertThat(guests.exitStatus(jserver)).as("Java server:\n%s", guests.output(jserver)).isEqualTo("0");
        assertThat(bwRow.matcher(guests.output(cclient)).find()).isTrue();

        Path clat = CGuestInteropGuests.nativeBinary("vmrdma_write_lat");
        int cserver = guests.start("c-lat-server", List.of(clat.toString(), "-p", "7407", "-s", "8", "-n", "300"));
        guests.awaitOutput(cserver, "Waiting for a client");
        int jclient = guests.start("java-lat-client", EngineFixture.javaGuest(
                "io.vmrdma.guest.internal.GuestTool", "bench", "write_lat", "client", "1", "7407", "8", "300"));
        guests.awaitGone(jclient);
        guests.awaitGone(cserver);
        assertThat(guests.exitStatus(jclient)).as("Java client:\n%s", guests.output(jclient)).isEqualTo("0");
        assertThat(guests.exitStatus(cserver)).as("C server:\n%s", guests.output(cserver)).isEqualTo("0");
        assertThat(latRow.matcher(guests.output(jclient)).find()).isTrue();
        host.assertHealthy();
    }

    @Test
    void aCGuestReattachesAfterDom0sVmrdmaRestarts() throws Exception {
        Path peer = CGuestInteropGuests.nativeBinary("vmrdma_interop_peer");
        long service = 7500;
        JavaGuest before = new JavaGuest("java-guest");
        int c = guests.start("c-guest", List.of(peer.toString(), "reattach", Long.toString(seed),
                Long.toString(service)));
        guests.awaitOutput(c, "reattach: ready");

        host.restartDom0();
        host.await(() -> !before.dev.connected(), "the Java guest sees its backend go");
        guests.awaitOutput(c, "reattach: attached again");
        before.dev.reattach();
        JavaGuest j = new JavaGuest(before.dev, before.buf);
        j.dev.listen(service);
        GuestDevice.Qp qp = acceptStream(j);
        j.recv(qp, WcOpcode.RECV, false, 0, 8);
        j.expectBytes("RDMA WRITE from the re-attached C guest", DATA, 65536, seed);
        j.dev.disconnect(qp);
        guests.awaitGone(c);
        assertThat(guests.exitStatus(c)).as("the C guest; output:\n%s", guests.output(c)).isEqualTo("0");
        assertThat(guests.output(c)).contains("reattach: backend gone (-107").contains("interop: PASS");
        j.dev.close();
        host.assertHealthy();
    }

    /** Runs a C tool as server and as client in two guests; returns the client's output. */
    private String tool(String name, int service, List<String> options) throws Exception {
        Path bin = CGuestInteropGuests.nativeBinary(name);
        List<String> server = new java.util.ArrayList<>(List.of(bin.toString(), "-p", Integer.toString(service)));
        server.addAll(options);
        List<String> client = new java.util.ArrayList<>(server);
        client.add("1"); // the engine's node id
        int s = guests.start(name + "-server", server);
        guests.awaitOutput(s, "Waiting for a client");
        int c = guests.start(name + "-client", client);
        guests.awaitGone(c);
        guests.awaitGone(s);
        assertThat(guests.exitStatus(c)).as("%s client:\n%s", name, guests.output(c)).isEqualTo("0");
        assertThat(guests.exitStatus(s)).as("%s server:\n%s", name, guests.output(s)).isEqualTo("0");
        return guests.output(c);
    }

    /** Accepts the next client with the buffer's key and posts the receives (IN's slots). */
    private GuestDevice.Qp acceptStream(JavaGuest j) throws Exception {
        CmEvent request = j.event(CmEventType.CONNECT_REQUEST);
        GuestDevice.Qp qp = j.newQp();
        j.dev.accept(request.connectionId(), qp, j.key());
        for (int s = 0; s < SLOTS; s++) {
            j.postRecv(qp, s);
        }
        j.event(CmEventType.ESTABLISHED);
        return qp;
    }

    private long nextRound(JavaGuest j, GuestDevice.Qp qp) throws Exception {
        // The stream peer runs ahead as far as posted receives allow: read the slot before reposting it.
        int at = j.take(qp, WcOpcode.RECV, false, 0, 8);
        long round = j.mem.order(ByteOrder.LITTLE_ENDIAN).getLong(at);
        j.postRecv(qp, (at - IN) / SLOT);
        return round;
    }

    private void assertStreamPattern(JavaGuest j) {
        // The stream client writes STREAM_BYTES from offset 0: DATA and OUT, and part of IN (never past 128 KiB).
        for (int i = 0; i < STREAM_BYTES; i++) {
            assertThat(j.mem.get(i)).as("seed %d byte %d", seed, i).isEqualTo(PeerProgram.pattern(seed, i));
        }
    }

    private int startStream(Path peer, String name, long service, int rounds, boolean wrapped) throws Exception {
        List<String> cmd = List.of(peer.toString(), "stream", Long.toString(service), Long.toString(seed),
                Integer.toString(rounds), Integer.toString(STREAM_BYTES));
        return wrapped ? guests.start(name, cmd) : guests.startDirect(name, cmd);
    }

    static byte pattern(long seed, int i) {
        return PeerProgram.pattern(seed, i);
    }
}
