package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Node;
import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.engine.internal.auth.NodeAuth;
import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameCheck;
import io.vmrdma.engine.internal.wire.FrameType;
import io.vmrdma.engine.testkit.Cluster;
import io.vmrdma.nic.faults.Faults;
import io.vmrdma.nic.loopback.internal.LoopbackPort;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * Frames an attacker crafts, on node 2's own link or from a third port: each kind is dropped (or NAKed) and counted
 * under its own counter, the memory no key allows is untouched, and a transfer running at the same time completes
 * byte-identical. A fuzz property throws random and mutated frames at the receive path.
 */
class UntrustedFramesTest {

    private final FrameCheck check = new FrameCheck();
    private final Insider insider = new Insider();
    private final FrameClaim claim = new FrameClaim();
    /** Who seals frames as their source node: the running engines, and made-up nodes holding the secret. */
    private final java.util.Map<Integer, NodeAuth> nodes = new java.util.HashMap<>();

    /** Builds a frame with {@code build}, seals its CRCs (unless {@code sealed} is false) and sends it raw. */
    private void inject(LoopbackPort from, LinkAddress to, int length, boolean sealed, FrameWriter build) {
        inject(from, to, length, sealed, build, -1);
    }

    /** As above, then flips a bit of byte {@code flipAt} of the sealed frame, as a noisy wire would. */
    private void inject(LoopbackPort from, LinkAddress to, int length, boolean sealed, FrameWriter build, int flipAt) {
        assertThat(from.tryClaim(to, length, claim)).isTrue();
        UnsafeBuffer b = new UnsafeBuffer(claim.buffer());
        for (int i = 0; i < length; i++) {
            b.putByte(claim.offset() + i, (byte) 0);
        }
        build.write(b, claim.offset());
        if (sealed && length >= Frame.BASE_LENGTH) {
            seal(claim.buffer(), claim.offset(), length);
        }
        if (flipAt >= 0) {
            b.putByte(claim.offset() + flipAt, (byte) (b.getByte(claim.offset() + flipAt) ^ 0x10));
        }
        from.commit(claim, length);
    }

    /**
     * Writes a frame's CRC and authentication trailer as a genuine sender holding the cluster secret would (an
     * insider: what the checks after authentication must withstand), as far as its length lets it claim a header
     * and payload.
     */
    private void seal(java.nio.ByteBuffer buffer, int at, int length) {
        UnsafeBuffer b = new UnsafeBuffer(buffer);
        FrameType type = FrameType.ofCode(Frame.type(b, at));
        int header = type == null ? Frame.BASE_LENGTH : Math.min(type.headerLength(), length);
        int payload = Frame.payloadLength(b, at);
        if (type != null && length >= Frame.length(header, payload, true)) {
            insider.sealAs(nodes.computeIfAbsent(Frame.srcNode(b, at), n -> new NodeAuth(Cluster.KEYS, n)), buffer, at,
                    header, payload);
        } else {
            check.sealHeader(buffer, at, header);
        }
    }

    /** Frames sealed as a node of {@code c} take that engine's epoch and counter. */
    private void sealingAs(Cluster c) {
        for (VerbsEngine engine : c.engines()) {
            nodes.put(engine.nodeId(), engine.transport().nodeAuth());
        }
    }

    private static final int ACK_LENGTH = Insider.length(FrameType.ACK, 0);
    private static final int WRITE_8_LENGTH = Insider.length(FrameType.WRITE, 8);

    interface FrameWriter {
        void write(UnsafeBuffer b, int at);
    }

    private static long drops(VerbsEngine e) {
        return e.counter(Counter.MALFORMED_FRAMES) + e.counter(Counter.CRC_ERRORS)
                + e.counter(Counter.UNKNOWN_SOURCE_DROPS) + e.counter(Counter.PEER_SPOOFS)
                + e.counter(Counter.AUTH_FAILURES) + e.counter(Counter.REPLAYS);
    }

    @Test
    void eachKindOfBadFrameIsDroppedAndCountedWhileATransferCompletes() throws Exception {
        try (Cluster c = new Cluster(3, 9000, Faults.NONE, 11)) {
            sealingAs(c);
            Cluster.Dom a = c.domain(1, 1, "a");
            Cluster.Dom b = c.domain(2, 2, "b");
            MemoryRegion ma = a.region(1 << 20, AccessFlags.ALL, 1);
            MemoryRegion secret = a.region(4096, AccessFlags.LOCAL_WRITE, 3);
            MemoryRegion mb = b.region(1 << 20, AccessFlags.ALL, 2);
            byte[] secretBefore = VerbsFixture.snapshot(secret);
            QueuePair[] pair = c.connect(b, a, 5);
            VerbsEngine node1 = c.node(1);
            LinkAddress node1Address = c.wire().address(1);
            LoopbackPort node2Port = c.ports().get(1);
            LoopbackPort stranger = c.ports().get(2);

            SendWorkRequest big = new SendWorkRequest().wrId(1).opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                    .remoteAddress(ma.address()).rkey(ma.rkey());
            big.sgl().add(mb.address(), 1 << 20, mb.lkey());
            pair[0].postSend(big);
            c.node(2).doWork();

            long malformed = node1.counter(Counter.MALFORMED_FRAMES);
            inject(node2Port, node1Address, 10, false, (f, at) -> f.putByte(at, (byte) 1));
            inject(node2Port, node1Address, ACK_LENGTH, true,
                    (f, at) -> Frame.writeBase(f, at, FrameType.ACK, 0, 2, 1, 0,
                            5000, 0, 0, 0, 0));
            inject(node2Port, node1Address, 64, true, (f, at) -> f.putByte(at + Frame.TYPE_OFFSET, (byte) 0x7E));
            inject(node2Port, node1Address, ACK_LENGTH, true, (f, at) -> {
                Frame.writeBase(f, at, FrameType.ACK, 0, 2, 1, 0, 0, pair[1].address().qpn(),
                        pair[0].address().qpn(), 0, 0);
                f.putByte(at + Frame.VERSION_OFFSET, (byte) 9);
            });
            c.settle(2);
            assertThat(node1.counter(Counter.MALFORMED_FRAMES) - malformed).as("malformed").isEqualTo(4);

            long crc = node1.counter(Counter.CRC_ERRORS);
            inject(node2Port, node1Address, 40, false, (f, at) -> Frame.writeBase(f, at, FrameType.ACK, 0, 2, 1, 0, 0,
                    0, 0, 0, 0));
            c.settle(2);
            assertThat(node1.counter(Counter.CRC_ERRORS) - crc).as("bad CRC").isEqualTo(1);

            long unknown = node1.counter(Counter.UNKNOWN_SOURCE_DROPS);
            FrameWriter spoofedWrite = (f, at) -> {
                Frame.writeBase(f, at, FrameType.WRITE, Frame.FLAG_FIRST | Frame.FLAG_LAST, 2, 1, pair[1].pkey(), 8,
                        pair[1].address().qpn(), pair[0].address().qpn(), 0, 0);
                f.putLong(at + Extension.Write.REMOTE_ADDRESS, ma.address(), Frame.ORDER);
                f.putInt(at + Extension.Write.RKEY, ma.rkey(), Frame.ORDER);
            };
            inject(stranger, node1Address, WRITE_8_LENGTH, true, spoofedWrite);
            inject(node2Port, node1Address, ACK_LENGTH, true,
                    (f, at) -> Frame.writeBase(f, at, FrameType.ACK, 0, 2, 3, 0,
                            0, 0, 0, 0, 0));
            inject(node2Port, node1Address, ACK_LENGTH, true,
                    (f, at) -> Frame.writeBase(f, at, FrameType.ACK, 0, 9, 1, 0,
                            0, 0, 0, 0, 0));
            c.settle(2);
            assertThat(node1.counter(Counter.UNKNOWN_SOURCE_DROPS) - unknown).as("spoofed or misaddressed")
                    .isEqualTo(3);

            long noQp = node1.counter(Counter.UNKNOWN_QP_DROPS);
            inject(node2Port, node1Address, WRITE_8_LENGTH, true, (f, at) -> {
                spoofedWrite.write(f, at);
                f.putInt(at + Frame.SRC_QPN_OFFSET, 4242, Frame.ORDER);
            });
            c.settle(2);
            assertThat(node1.counter(Counter.UNKNOWN_QP_DROPS) - noQp).as("not the connected queue pair").isEqualTo(1);

            long partition = a.vm().counter(Counter.PARTITION_VIOLATIONS);
            inject(node2Port, node1Address, WRITE_8_LENGTH, true, (f, at) -> {
                spoofedWrite.write(f, at);
                f.putShort(at + Frame.PKEY_OFFSET, (short) 0x0123, Frame.ORDER);
            });
            c.settle(2);
            assertThat(a.vm().counter(Counter.PARTITION_VIOLATIONS) - partition)
                    .as("wrong partition").isEqualTo(1);

            long faults = a.vm().counter(Counter.PROTECTION_FAULTS);
            long window = node1.counter(Counter.OUT_OF_WINDOW_DROPS);
            inject(node2Port, node1Address, WRITE_8_LENGTH, true, (f, at) -> {
                spoofedWrite.write(f, at);
                f.putInt(at + Frame.PSN_OFFSET, ((Qp) pair[1]).wire().expectedPsn() + 5000, Frame.ORDER);
            });
            c.settle(2);
            assertThat(((Qp) pair[1]).counters().get(Counter.OUT_OF_WINDOW_DROPS)).as("out of window").isPositive();

            c.runUntil(() -> !b.drainCq().isEmpty(), 5_000_000_000L);
            assertThat(b.polled.get(0).status()).isEqualTo(WcStatus.SUCCESS);
            assertThat(VerbsFixture.snapshot(ma)).isEqualTo(VerbsFixture.snapshot(mb));

            int expected = ((Qp) pair[1]).wire().expectedPsn();
            inject(node2Port, node1Address, WRITE_8_LENGTH, true, (f, at) -> {
                spoofedWrite.write(f, at);
                f.putInt(at + Frame.PSN_OFFSET, expected - 3, Frame.ORDER);
            });
            inject(node2Port, node1Address, WRITE_8_LENGTH, true, (f, at) -> {
                spoofedWrite.write(f, at);
                f.putInt(at + Frame.PSN_OFFSET, expected, Frame.ORDER);
                f.putInt(at + Frame.AUX_OFFSET, expected, Frame.ORDER);
                f.putLong(at + Extension.Write.REMOTE_ADDRESS, secret.address(), Frame.ORDER);
                f.putInt(at + Extension.Write.RKEY, secret.rkey(), Frame.ORDER);
            });
            c.settle(2);
            assertThat(((Qp) pair[1]).counters().get(Counter.DUPLICATES_DROPPED)).as("replayed PSN").isPositive();
            assertThat(a.vm().counter(Counter.PROTECTION_FAULTS) - faults)
                    .as("a key that does not allow the write").isEqualTo(1);
            assertThat(VerbsFixture.snapshot(secret)).isEqualTo(secretBefore);
            assertThat(node1.counter(Counter.NAKS_SENT)).isPositive();

            // A good header over a payload that no longer matches its tag: counted, and the frame is as if never
            // received, so the expected PSN stays until a good copy comes.
            int next = ((Qp) pair[1]).wire().expectedPsn();
            FrameWriter nextWrite = (f, at) -> {
                spoofedWrite.write(f, at);
                f.putInt(at + Frame.PSN_OFFSET, next, Frame.ORDER);
                f.putInt(at + Frame.AUX_OFFSET, next, Frame.ORDER);
            };
            long authFailures = node1.counter(Counter.AUTH_FAILURES);
            inject(node2Port, node1Address, WRITE_8_LENGTH, true, nextWrite, FrameType.WRITE.headerLength() + 3);
            c.settle(2);
            assertThat(node1.counter(Counter.AUTH_FAILURES) - authFailures).isEqualTo(1);
            assertThat(((Qp) pair[1]).wire().expectedPsn()).isEqualTo(next);
            inject(node2Port, node1Address, WRITE_8_LENGTH, true, nextWrite);
            c.settle(2);
            assertThat(((Qp) pair[1]).wire().expectedPsn()).isEqualTo(next + 1);
        }
    }

    @Test
    void aPeerSpeakingAnotherProtocolVersionIsRefusedWithAClearReason() throws Exception {
        try (Cluster c = new Cluster(2, 1500, Faults.NONE, 12)) {
            sealingAs(c);
            c.settle(3);
            inject(c.ports().get(1), c.wire().address(1), Insider.length(FrameType.HELLO, 8), true, (f, at) -> {
                Frame.writeBase(f, at, FrameType.HELLO, 0, 2, 1, 0, 8, 0, 0, 0, 0);
                f.putByte(at + Frame.VERSION_OFFSET, (byte) 2);
                f.putShort(at + Extension.Hello.PROTOCOL_VERSION, (short) 2, Frame.ORDER);
            });
            c.node(1).doWork();
            assertThat(c.node(1).counter(Counter.VERSION_MISMATCHES)).isEqualTo(1);
            assertThat(c.node(1).peerUp(2)).isFalse();
            Cluster.Dom a = c.domain(1, 1, "a");
            a.verbs.connect(a.qp(), 2, 1, -1, null);
            CmEvent event = new CmEvent();
            assertThat(a.verbs.pollCmEvent(event)).isTrue();
            assertThat(event.type()).isEqualTo(CmEventType.REJECTED);
            assertThat(event.reason()).contains("protocol 2").contains("speaks " + Node.PROTOCOL_VERSION);
        }
    }

    /** 30 tries of 300 frames by default; {@code -Dvmrdma.long=true} ({@code ./test.sh --long}) makes it 10^6 frames. */
    private static final int FRAMES_PER_TRY = Boolean.getBoolean("vmrdma.long") ? 33_334 : 300;

    @Property(tries = 30)
    void randomAndMutatedFramesNeverBreakTheEngineAndAreAllCounted(@ForAll @LongRange(min = 1) long seed)
            throws Exception {
        Random random = new Random(seed);
        try (Cluster c = new Cluster(2, 1500, Faults.NONE, seed)) {
            sealingAs(c);
            Cluster.Dom a = c.domain(1, 1, "a");
            Cluster.Dom b = c.domain(2, 2, "b");
            MemoryRegion ma = a.region(65536, AccessFlags.ALL, 1);
            MemoryRegion guarded = a.region(4096, 0, 4);
            MemoryRegion mb = b.region(65536, AccessFlags.ALL, 2);
            byte[] guardedBefore = VerbsFixture.snapshot(guarded);
            QueuePair[] pair = c.connect(b, a, 5);
            c.settle(3);

            // Capture genuine frames to mutate: let node 2 send a write, and read node 1's inbox raw.
            SendWorkRequest wr = new SendWorkRequest().wrId(1).opcode(Opcode.RDMA_WRITE).remoteAddress(ma.address())
                    .rkey(ma.rkey());
            wr.sgl().add(mb.address(), 10_000, mb.lkey());
            pair[0].postSend(wr);
            c.node(2).doWork();
            List<byte[]> genuine = new ArrayList<>();
            c.ports().get(0).poll((buf, off, len, src) -> {
                byte[] copy = new byte[len];
                buf.get(off, copy);
                genuine.add(copy);
            }, 100);
            assertThat(genuine).isNotEmpty();

            VerbsEngine node1 = c.node(1);
            for (int i = 0; i < FRAMES_PER_TRY; i++) {
                byte[] frame;
                if (random.nextBoolean()) {
                    frame = new byte[random.nextInt(120)];
                    random.nextBytes(frame);
                } else {
                    byte[] g = genuine.get(random.nextInt(genuine.size()));
                    frame = java.util.Arrays.copyOf(g, Math.max(0, Math.min(1500, g.length + random.nextInt(41) - 20)));
                    for (int flips = 1 + random.nextInt(4); flips > 0 && frame.length > 0; flips--) {
                        frame[random.nextInt(Math.min(frame.length, 80))] = (byte) random.nextInt();
                    }
                }
                boolean reseal = random.nextInt(3) == 0;
                byte[] bytes = frame;
                inject(c.ports().get(1), c.wire().address(1), bytes.length, reseal, (f, at) -> f.putBytes(at, bytes));
                long dropped = drops(node1);
                long received = node1.counter(Counter.FRAMES_RECEIVED);
                long malformed = node1.counter(Counter.MALFORMED_FRAMES);
                node1.doWork();
                long[] counted = {drops(node1) - dropped, node1.counter(Counter.FRAMES_RECEIVED) - received,
                    node1.counter(Counter.MALFORMED_FRAMES) - malformed};
                // Dropped at the frame's checks, or received; a frame received whose request then does not hold
                // together (a resealed mutation into a READ_REQUEST or a CM message, say) counts as malformed too.
                assertThat(counted).as("frame %d: dropped, received, malformed", i).satisfiesAnyOf(
                        n -> assertThat(n[0] + n[1]).isEqualTo(1),
                        n -> assertThat(n).containsExactly(1, 1, 1));
            }
            assertThat(VerbsFixture.snapshot(guarded)).isEqualTo(guardedBefore);

            // A resealed mutation of a HELLO from node 2's own address may have announced another protocol version
            // (node 2 then counts as down and connecting to it is refused): node 2's next genuine HELLO, within one
            // hello period, puts that right.
            for (int i = 0; i < 12; i++) {
                c.settle(1);
                c.advance(100_000_000);
            }
            // The engine still works: a fresh connection moves data.
            Cluster.Dom a2 = c.domain(1, 3, "a2");
            Cluster.Dom b2 = c.domain(2, 4, "b2");
            MemoryRegion x = a2.region(4096, AccessFlags.ALL, 5);
            MemoryRegion y = b2.region(4096, AccessFlags.ALL, 6);
            QueuePair[] fresh = c.connect(a2, b2, 6);
            SendWorkRequest check =
                    new SendWorkRequest().wrId(9).opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                            .remoteAddress(y.address()).rkey(y.rkey());
            check.sgl().add(x.address(), 4096, x.lkey());
            fresh[0].postSend(check);
            c.runUntil(() -> !a2.drainCq().isEmpty(), 5_000_000_000L);
            assertThat(a2.polled.get(0).status()).isEqualTo(WcStatus.SUCCESS);
            assertThat(VerbsFixture.snapshot(y)).isEqualTo(VerbsFixture.snapshot(x));
        }
    }
}
