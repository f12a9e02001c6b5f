package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.xen.sim.guest.GuestControl;
import io.vmrdma.xen.sim.guest.SimGuest;
import io.vmrdma.xen.sim.internal.DomainMove;
import io.vmrdma.xen.sim.internal.SimHypervisor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A guest VM streaming to a VM on another host is live-migrated, with the simulated hypervisor moving it and the
 * engines moving its vmrdma state: three hosts (nodes 1, 2, 3), each a simulator with dom0's engine and backends; the
 * mover (its kernel and application in this JVM, on the guest library) starts on node 1 and streams SEND, RDMA
 * WRITE_WITH_IMM and RDMA READ messages, each of its own seeded length and bytes, to a peer VM on node 3; it moves to
 * node 2 and back while streaming. Every message arrives once, whole, in order; every completion is a success; the
 * application goes on with the objects it made before the moves. A destination that dies while the state is on its way
 * leaves the VM streaming on node 1.
 */
class GuestMigrationTest {

    static final int MESSAGES = 900;
    static final int SLOT = 2048;
    static final int WINDOW = 16;
    static final int READ_AREA = 256 * 1024;
    static final long SERVICE = 24;
    static final long C_SERVICE = 25;
    static final int C_MESSAGES = 1200;
    static final int C_SLOT = 4096;
    static final long WAIT = TimeUnit.SECONDS.toNanos(30);
    static final int ALL = AccessFlags.LOCAL_WRITE | AccessFlags.REMOTE_WRITE | AccessFlags.REMOTE_READ;

    @TempDir
    Path state;

    final long seed = Long.getLong("vmrdma.seed", System.nanoTime());
    MigrationHosts hosts;
    SimHypervisor[] sims;

    @BeforeEach
    void setUp() throws Exception {
        hosts = new MigrationHosts(state, seed, 4096);
        sims = hosts.sims;
    }

    @AfterEach
    void tearDown() throws Exception {
        hosts.close();
    }

    @Test
    void aStreamingGuestMovesToAnotherHostAndBack() throws Exception {
        Streams streams = startStreams();
        // A second device of the VM, idle with its objects, moves too.
        GuestDevice second = GuestDevice.open(streams.moverKernel, GuestDevice.Options.defaults().polling(true));
        GuestDevice.Pd pd = second.allocPd();
        GuestDevice.Cq cq = second.createCq(16);
        GuestBuffer buffer = second.allocate(3 * 4096);
        GuestDevice.Region region = second.register(pd, buffer, ALL);

        long there = hosts.migrate(streams.moverDomid, 0, 1);
        awaitResumedIn(streams.moverKernel, sims[1].domainDirectory(streams.moverDomid));
        assertThat(sims[0].list()).extracting(d -> d.name()).doesNotContain("mover");
        // Its first verb waits until the device has reconnected (the resume goes on on the guest's kernel thread).
        second.createQp(pd, cq, cq, 4, 4, 1, false);
        assertThat(second.nodeId()).isEqualTo(2);
        second.deregister(region);
        second.free(buffer);
        second.close();
        awaitProgress(streams.mover, MESSAGES / 2);
        long back = hosts.migrate(streams.moverDomid, 1, 0);
        awaitResumedIn(streams.moverKernel, sims[0].domainDirectory(streams.moverDomid));
        assertThat(sims[1].list()).extracting(d -> d.name()).doesNotContain("mover");

        streams.finish();
        System.out.printf("guest migration: paused %.1f ms to node 2, %.1f ms back (seed %d)%n", there / 1e6,
                back / 1e6, seed);
    }

    @Test
    void aDestinationThatDiesMidMoveLeavesTheGuestStreamingWhereItWas() throws Exception {
        Streams streams = startStreams();
        moveToADestinationThatDies(streams.moverDomid);
        assertThat(streams.moverKernel.domainDirectory()).isEqualTo(sims[0].domainDirectory(streams.moverDomid));

        streams.finish();
    }

    @Test
    void theEnginesDoNotMoveAGuestItsHypervisorDidNotMove() throws Exception {
        Streams streams = startStreams();
        // No toolstack move: the guest runs on host 1, and host 2's hypervisor has no such domain.
        CompletableFuture<Long> outcome = hosts.engineMove(streams.moverDomid, 0, 1, () -> {
        });
        assertThat(outcome).failsWithin(10, TimeUnit.SECONDS).withThrowableThat()
                .withMessageContaining("hypervisor has no dom " + streams.moverDomid);
        streams.finish();
    }

    @Test
    void aStreamingCGuestMovesToAnotherHostAndBack() throws Exception {
        CStream c = startCStream();
        long there = hosts.migrate(c.domid, 0, 1);
        assertThat(sims[0].list()).extracting(d -> d.name()).doesNotContain("c-mover");
        assertThat(sims[1].list()).extracting(d -> d.name()).contains("c-mover");
        awaitLine(c.log, "moving: completed " + C_MESSAGES / 2);
        long back = hosts.migrate(c.domid, 1, 0);
        assertThat(sims[1].list()).extracting(d -> d.name()).doesNotContain("c-mover");

        c.finish();
        System.out.printf("C guest migration: paused %.1f ms to node 2, %.1f ms back (seed %d)%n", there / 1e6,
                back / 1e6, seed);
    }

    @Test
    void aCGuestWhoseMoveIsCancelledStreamsOnWhereItWas() throws Exception {
        CStream c = startCStream();
        moveToADestinationThatDies(c.domid);
        assertThat(sims[0].list()).extracting(d -> d.name())
                .as("host 1's domains after the cancel; the C mover's output so far:%n%s", Files.readString(c.log))
                .contains("c-mover");

        c.finish();
    }

    @Test
    void aCGuestWhoseDeviceCannotFollowItFailsItsVerbsWithTheReason() throws Exception {
        CStream c = startCStream("1000");
        // The toolstack moves the domain to host 2, whose dom0 does not run: nothing offers the device there.
        hosts.stop(1);
        DomainMove move = DomainMove.suspend(sims[0], c.domid, sims[1], 5000);
        move.copyMemory();
        move.resume();

        awaitLine(c.status, "1");
        assertThat(Files.readString(c.log))
                .contains("did not follow its domain to " + sims[1].domainDirectory(c.domid))
                .contains("dom0 offers this domain no vmrdma device");
    }

    /**
     * The C mover ({@code vmrdma_interop_peer messages}, its own process started by host 1's toolstack) streaming to
     * its peer on host 3, a quarter of the messages done. The C library is the guest's kernel here: it acknowledges a
     * suspend inside its own calls. {@code openTimeout}: the device's, in milliseconds, when not the default.
     */
    private CStream startCStream(String... openTimeout) throws Exception {
        int domid = sims[0].create("c-mover", 16 << 20);
        int peerDomid = sims[2].create("c-peer", 16 << 20);
        CPeer peer = new CPeer(SimGuest.attach(sims[2].domainDirectory(peerDomid)));
        peer.start();
        Path log = state.resolve("c-mover.log");
        Path status = state.resolve("c-mover.status");
        List<String> command = new ArrayList<>(List.of("/bin/sh", "-c",
                "\"$@\" >'" + log + "' 2>&1; echo $? >'" + status + "'", "sh",
                CGuestInteropGuests.nativeBinary("vmrdma_interop_peer").toString(), "messages", "3",
                Long.toString(C_SERVICE), Long.toString(seed), Integer.toString(C_MESSAGES)));
        command.addAll(List.of(openTimeout));
        sims[0].start(domid, command);
        awaitLine(log, "moving: completed " + C_MESSAGES / 4);
        return new CStream(domid, log, status, peer);
    }

    private record CStream(int domid, Path log, Path status, CPeer peer) {
        /**
         * The C program ran to its end and saw every completion succeed in order, the peer every message once, in
         * order, byte for byte; one process from the first message to the last: it connected once, never restarted.
         */
        void finish() throws Exception {
            awaitLine(status, "0");
            peer.join(TimeUnit.NANOSECONDS.toMillis(WAIT));
            assertThat(peer.failure).isNull();
            assertThat(peer.received).isEqualTo(C_MESSAGES);
            List<String> lines = Files.readAllLines(log);
            List<String> connected = lines.stream().filter(l -> l.contains(" connected to ")).toList();
            assertThat(connected).hasSize(1);
            String process = connected.get(0).split(" ")[2];
            assertThat(lines).contains("moving: process " + process + " done");
        }
    }

    private static void awaitLine(Path file, String line) throws Exception {
        long deadline = System.nanoTime() + WAIT;
        while (!Files.exists(file) || !Files.readAllLines(file).contains(line)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no line \"" + line + "\" in " + file + ":\n"
                        + (Files.exists(file) ? Files.readString(file) : "(missing)"));
            }
            Thread.sleep(5);
        }
    }

    /**
     * Moves {@code domid} from host 1 towards host 2, which stops once it has accepted and the state is on its way
     * (its engine and backends never run again); the engines' move fails and the toolstack cancels its own.
     */
    private void moveToADestinationThatDies(int domid) throws Exception {
        DomainMove move = DomainMove.suspend(sims[0], domid, sims[1], 5000);
        CompletableFuture<Long> outcome = hosts.engineMove(domid, 0, 1, () -> {
            move.copyMemory();
            hosts.dies(1);
        });
        assertThat(outcome).failsWithin(10, TimeUnit.SECONDS);
        move.cancel();
    }

    /** The mover on host 1 and its peer on host 3, streaming, a quarter of the messages done. */
    private Streams startStreams() throws Exception {
        int moverDomid = sims[0].create("mover", 16 << 20);
        int peerDomid = sims[2].create("peer", 16 << 20);
        Peer peer = new Peer(SimGuest.attach(sims[2].domainDirectory(peerDomid)));
        SimGuest moverKernel = SimGuest.attach(sims[0].domainDirectory(moverDomid));
        GuestControl.start(moverKernel, true, () -> {
        });
        Mover mover = new Mover(moverKernel);
        peer.start();
        mover.start();
        awaitProgress(mover, MESSAGES / 4);
        return new Streams(moverDomid, moverKernel, mover, peer);
    }

    /** The two VMs' applications, streaming. */
    private record Streams(int moverDomid, SimGuest moverKernel, Mover mover, Peer peer) {
        /** Both ran to their end and saw nothing wrong: every message once, in order, byte for byte. */
        void finish() throws InterruptedException {
            mover.join(TimeUnit.NANOSECONDS.toMillis(WAIT));
            peer.join(TimeUnit.NANOSECONDS.toMillis(WAIT));
            assertThat(mover.failure).isNull();
            assertThat(peer.failure).isNull();
            assertThat(mover.done.get()).isEqualTo(MESSAGES);
            assertThat(peer.received).isEqualTo(expectedAtPeer());
        }
    }

    /**
     * Waits until the guest's kernel has taken the toolstack's resume and rebound to {@code directory}: the resume
     * answers its suspend call and returns, and the guest's kernel thread rebinds after it, as a real guest runs on
     * its own vCPUs once resumed.
     */
    private static void awaitResumedIn(SimGuest kernel, Path directory) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT;
        while (!kernel.domainDirectory().equals(directory) && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertThat(kernel.domainDirectory()).isEqualTo(directory);
    }

    private void awaitProgress(Mover mover, int messages) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT;
        while (mover.done.get() < messages && mover.failure == null && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertThat(mover.failure).isNull();
        assertThat(mover.done.get()).as("progress before the move").isGreaterThanOrEqualTo(messages);
    }

    static int expectedAtPeer() {
        int n = 0;
        for (int i = 0; i < MESSAGES; i++) {
            n += i % 3 == 2 ? 0 : 1;
        }
        return n;
    }

    /** Message {@code i}: 1..SLOT bytes of its own. */
    byte[] message(int i) {
        Random r = new Random(seed * 1_000_003L + i);
        byte[] m = new byte[1 + r.nextInt(SLOT)];
        r.nextBytes(m);
        return m;
    }

    /** The peer's read area, which the mover reads pieces of. */
    byte[] readArea() {
        byte[] a = new byte[READ_AREA];
        new Random(seed ^ 0x5EED).nextBytes(a);
        return a;
    }

    static int readOffset(int i) {
        return (int) ((i * 7919L) % (READ_AREA - SLOT));
    }

    /**
     * A peer VM's device, listening: a slot per message for RDMA WRITEs and 64 receive slots for SENDs, each of
     * {@code slotBytes}; it accepts the one connection request with the keys its subclass hands over.
     */
    abstract class Listener extends Thread {
        final int slotBytes;
        final GuestDevice dev;
        final GuestDevice.Pd pd;
        final GuestDevice.Cq cq;
        final GuestDevice.Qp qp;
        final GuestBuffer slots;
        final GuestBuffer receives;
        final GuestDevice.Region slotsMr;
        final GuestDevice.Region receivesMr;
        volatile Throwable failure;
        volatile int received;

        Listener(String name, SimGuest guest, int messages, int slotBytes, long service) throws VerbsException {
            super(name);
            this.slotBytes = slotBytes;
            dev = GuestDevice.open(guest, GuestDevice.Options.defaults().polling(true));
            pd = dev.allocPd();
            cq = dev.createCq(256);
            qp = dev.createQp(pd, cq, cq, 64, 64, 1, true);
            slots = dev.allocate(messages * slotBytes);
            receives = dev.allocate(64 * slotBytes);
            slotsMr = dev.register(pd, slots, ALL);
            receivesMr = dev.register(pd, receives, ALL);
            dev.listen(service);
        }

        /** Accepts the connection request with {@code keys} as private data and posts every receive. */
        void acceptWith(byte[] keys) throws VerbsException {
            CmEvent e = new CmEvent();
            assertThat(dev.waitCmEvent(e, WAIT)).isTrue();
            assertThat(e.type()).isEqualTo(CmEventType.CONNECT_REQUEST);
            dev.accept(e.connectionId(), qp, keys);
            // A SEND that comes before its receive waits (RNR, retried without end by default).
            for (int k = 0; k < 64; k++) {
                postReceive(k);
            }
        }

        void postReceive(int k) throws VerbsException {
            RecvWorkRequest r = new RecvWorkRequest().wrId(k);
            r.sgl().add(receivesMr.address() + (long) k * slotBytes, slotBytes, receivesMr.lkey());
            dev.postRecv(qp, r);
        }
    }

    /** The peer VM: listens, accepts, checks every SEND and WRITE_WITH_IMM in order and byte for byte. */
    final class Peer extends Listener {
        final GuestBuffer reads;
        final GuestDevice.Region readsMr;

        Peer(SimGuest guest) throws VerbsException {
            super("peer-vm", guest, MESSAGES, SLOT, SERVICE);
            reads = dev.allocate(READ_AREA);
            reads.buffer().put(0, readArea());
            readsMr = dev.register(pd, reads, ALL);
        }

        @Override
        public void run() {
            try {
                acceptWith(ByteBuffer.allocate(24).putLong(slotsMr.address()).putInt(slotsMr.rkey())
                        .putLong(readsMr.address()).putInt(readsMr.rkey()).array());
                WorkCompletion wc = new WorkCompletion();
                int next = 0;
                while (received < expectedAtPeer()) {
                    assertThat(dev.waitCq(cq, wc, WAIT)).as("message " + next + " arrives").isTrue();
                    assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS);
                    byte[] m = message(next);
                    int k = (int) wc.wrId();
                    if (next % 3 == 0) {
                        assertThat(wc.opcode()).isEqualTo(WcOpcode.RECV);
                        assertThat(wc.byteLength()).isEqualTo(m.length);
                        assertThat(bytes(receives, k * SLOT, m.length)).as("SEND " + next).isEqualTo(m);
                    } else {
                        assertThat(wc.opcode()).isEqualTo(WcOpcode.RECV_RDMA_WITH_IMM);
                        assertThat(wc.immData()).as("the messages' order").isEqualTo(next);
                        assertThat(bytes(slots, next * SLOT, m.length)).as("WRITE " + next).isEqualTo(m);
                    }
                    received++;
                    next += next % 3 == 0 ? 1 : 2;
                    postReceive(k);
                }
            } catch (Throwable t) {
                failure = t;
            }
        }
    }

    /** Message {@code i} of the C mover ({@code vmrdma_interop_peer messages}): its length, 1..C_SLOT bytes. */
    static int cLength(int i) {
        return 1 + (int) ((i * 7919L) % C_SLOT);
    }

    /**
     * The C mover's peer VM: listens, hands over the key of one slot per message, checks every SEND (even messages)
     * and WRITE_WITH_IMM (odd ones) in order, byte for byte.
     */
    final class CPeer extends Listener {
        CPeer(SimGuest guest) throws VerbsException {
            super("c-peer-vm", guest, C_MESSAGES, C_SLOT, C_SERVICE);
        }

        @Override
        public void run() {
            try {
                acceptWith(ByteBuffer.allocate(12).putLong(slotsMr.address()).putInt(slotsMr.rkey()).array());
                WorkCompletion wc = new WorkCompletion();
                for (int next = 0; next < C_MESSAGES; next++) {
                    assertThat(dev.waitCq(cq, wc, WAIT)).as("message " + next + " arrives").isTrue();
                    assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS);
                    int k = (int) wc.wrId();
                    byte[] expected = new byte[cLength(next)];
                    for (int b = 0; b < expected.length; b++) {
                        expected[b] = PeerProgram.pattern(seed + next, b);
                    }
                    if (next % 2 == 0) {
                        assertThat(wc.opcode()).isEqualTo(WcOpcode.RECV);
                        assertThat(wc.byteLength()).isEqualTo(expected.length);
                        assertThat(bytes(receives, k * C_SLOT, expected.length)).as("SEND " + next)
                                .isEqualTo(expected);
                    } else {
                        assertThat(wc.opcode()).isEqualTo(WcOpcode.RECV_RDMA_WITH_IMM);
                        assertThat(wc.immData()).as("the messages' order").isEqualTo(next);
                        assertThat(bytes(slots, next * C_SLOT, expected.length)).as("WRITE " + next)
                                .isEqualTo(expected);
                    }
                    received++;
                    postReceive(k);
                }
            } catch (Throwable t) {
                failure = t;
            }
        }
    }

    /** The migrating VM's application: one device, objects made once, a window of signaled requests. */
    final class Mover extends Thread {
        final GuestDevice dev;
        final GuestDevice.Pd pd;
        final GuestDevice.Cq cq;
        final GuestDevice.Qp qp;
        final GuestBuffer out;
        final GuestBuffer in;
        final GuestDevice.Region outMr;
        final GuestDevice.Region inMr;
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Mover(SimGuest guest) throws VerbsException {
            super("mover-vm");
            dev = GuestDevice.open(guest, GuestDevice.Options.defaults().polling(true));
            pd = dev.allocPd();
            cq = dev.createCq(256);
            qp = dev.createQp(pd, cq, cq, 64, 64, 1, true);
            out = dev.allocate(WINDOW * SLOT);
            in = dev.allocate(WINDOW * SLOT);
            outMr = dev.register(pd, out, ALL);
            inMr = dev.register(pd, in, ALL);
        }

        @Override
        public void run() {
            try {
                dev.connect(qp, 3, SERVICE, -1, null);
                CmEvent e = new CmEvent();
                assertThat(dev.waitCmEvent(e, WAIT)).isTrue();
                assertThat(e.type()).isEqualTo(CmEventType.ESTABLISHED);
                ByteBuffer keys = ByteBuffer.wrap(e.privateData());
                long slots = keys.getLong();
                int slotsRkey = keys.getInt();
                long reads = keys.getLong();
                int readsRkey = keys.getInt();
                byte[] area = readArea();
                List<Integer> inFlight = new ArrayList<>();
                WorkCompletion wc = new WorkCompletion();
                for (int i = 0; i < MESSAGES || !inFlight.isEmpty();) {
                    if (i < MESSAGES && inFlight.size() < WINDOW) {
                        post(i, slots, slotsRkey, reads, readsRkey);
                        inFlight.add(i++);
                        continue;
                    }
                    assertThat(dev.waitCq(cq, wc, WAIT)).as("a completion for " + inFlight.get(0)).isTrue();
                    int j = inFlight.remove(0);
                    assertThat(wc.wrId()).as("completions in order").isEqualTo(j);
                    assertThat(wc.status()).as("message " + j).isEqualTo(WcStatus.SUCCESS);
                    if (j % 3 == 2) {
                        int length = message(j).length;
                        assertThat(bytes(in, (j % WINDOW) * SLOT, length)).as("READ " + j)
                                .isEqualTo(java.util.Arrays.copyOfRange(area, readOffset(j), readOffset(j) + length));
                    }
                    done.incrementAndGet();
                }
            } catch (Throwable t) {
                failure = t;
            }
        }

        private void post(int i, long slots, int slotsRkey, long reads, int readsRkey) throws VerbsException {
            byte[] m = message(i);
            int slot = (i % WINDOW) * SLOT;
            SendWorkRequest wr = new SendWorkRequest().wrId(i).sendFlags(SendFlags.SIGNALED);
            switch (i % 3) {
                case 0 -> {
                    out.buffer().put(slot, m);
                    wr.opcode(Opcode.SEND);
                    wr.sgl().add(outMr.address() + slot, m.length, outMr.lkey());
                }
                case 1 -> {
                    out.buffer().put(slot, m);
                    wr.opcode(Opcode.RDMA_WRITE_WITH_IMM).immData(i).remoteAddress(slots + (long) i * SLOT)
                            .rkey(slotsRkey);
                    wr.sgl().add(outMr.address() + slot, m.length, outMr.lkey());
                }
                default -> {
                    wr.opcode(Opcode.RDMA_READ).remoteAddress(reads + readOffset(i)).rkey(readsRkey);
                    wr.sgl().add(inMr.address() + slot, m.length, inMr.lkey());
                }
            }
            dev.postSend(qp, wr);
        }
    }

    static byte[] bytes(GuestBuffer b, int offset, int length) {
        byte[] out = new byte[length];
        b.buffer().get(offset, out);
        return out;
    }
}
