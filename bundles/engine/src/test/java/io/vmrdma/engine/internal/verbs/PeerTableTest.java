package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import io.vmrdma.api.Counter;
import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.engine.internal.transport.PeerTable;
import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameCheck;
import io.vmrdma.engine.internal.wire.FrameType;
import io.vmrdma.engine.testkit.Cluster;
import io.vmrdma.nic.faults.Faults;
import io.vmrdma.nic.loopback.internal.LoopbackPort;
import io.vmrdma.nic.loopback.internal.LoopbackWire;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * The peer table: discovery by HELLOs to the wire's broadcast address, static entries that win over any HELLO,
 * liveness (down after three silent hello periods, up again when the node answers), and round-trip times from
 * HELLO / HELLO_REPLY probes, on a hand-advanced clock.
 */
class PeerTableTest {

    private static final long SECOND = 1_000_000_000L;

    private static PeerInfo info(VerbsEngine engine, int node) {
        return engine.peers().stream().filter(p -> p.node() == node).findFirst().orElse(null);
    }

    private static SendWorkRequest write(long id, MemoryRegion from, int length, MemoryRegion to) {
        SendWorkRequest wr = new SendWorkRequest().wrId(id).opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                .remoteAddress(to.address()).rkey(to.rkey());
        wr.sgl().add(from.address(), length, from.lkey());
        return wr;
    }

    /** Sends a sealed HELLO from {@code from} as node {@code src}, to {@code to} (a port or the broadcast address). */
    private static void hello(LoopbackPort from, LinkAddress to, int src, int dst, boolean discovery, int version) {
        FrameClaim claim = new FrameClaim();
        int length = FrameType.HELLO.headerLength();
        assertThat(from.tryClaim(to, length, claim)).isTrue();
        UnsafeBuffer b = new UnsafeBuffer(claim.buffer());
        int at = claim.offset();
        Frame.writeBase(b, at, FrameType.HELLO, discovery ? Extension.Hello.FLAG_DISCOVERY : 0, src, dst, 0, 0, 0, 0,
                0, 0);
        b.putShort(at + Extension.Hello.PROTOCOL_VERSION, (short) version, Frame.ORDER);
        b.putShort(at + Extension.Hello.PROBE, (short) 0, Frame.ORDER);
        b.putInt(at + Extension.Hello.MTU, 1500, Frame.ORDER);
        b.putLong(at + Extension.Hello.INCARNATION, 42, Frame.ORDER);
        new FrameCheck().seal(claim.buffer(), at, length, 0);
        from.commit(claim, length);
    }

    /** Lets {@code seconds} of simulated time pass in 100 ms steps, the engines working at each step. */
    private static void idle(Cluster c, double seconds) {
        for (int i = 0; i < seconds * 10; i++) {
            c.settle(1);
            c.advance(SECOND / 10);
        }
    }

    @Test
    void nodesOnOneSegmentDiscoverEachOtherAndMoveDataByteIdentical() throws Exception {
        try (Cluster c = new Cluster(3, 9000, Faults.NONE, 21, false)) {
            assertThat(c.node(1).peers()).isEmpty();
            c.settle(5);
            for (int n = 1; n <= 3; n++) {
                VerbsEngine engine = c.node(n);
                assertThat(engine.peers()).extracting(PeerInfo::node)
                        .containsExactlyElementsOf(
                                java.util.stream.IntStream.rangeClosed(1, 3).filter(m -> m != engine.nodeId())
                                        .boxed().toList());
                for (PeerInfo peer : engine.peers()) {
                    assertThat(peer.origin()).isEqualTo(PeerInfo.Origin.DISCOVERED);
                    assertThat(peer.up()).as("%s seen from node %d", peer, n).isTrue();
                    assertThat(peer.protocolVersion()).isEqualTo(1);
                    assertThat(peer.address()).isEqualTo(c.wire().address(peer.node()));
                }
            }
            Cluster.Dom a = c.domain(1, 1, "a");
            Cluster.Dom b = c.domain(3, 3, "b");
            MemoryRegion ma = a.region(1 << 20, AccessFlags.ALL, 1);
            MemoryRegion mb = b.region(1 << 20, AccessFlags.ALL, 2);
            QueuePair[] pair = c.connect(a, b, 9);
            pair[0].postSend(write(1, ma, 700_000, mb));
            c.runUntil(() -> !a.drainCq().isEmpty(), SECOND);
            assertThat(a.polled.get(0).status()).isEqualTo(WcStatus.SUCCESS);
            assertThat(VerbsFixture.bytes(mb, mb.address(), 700_000))
                    .isEqualTo(VerbsFixture.bytes(ma, ma.address(), 700_000));
            PeerInfo three = info(c.node(1), 3);
            assertThat(three.framesSent()).isGreaterThan(700_000 / 9000);
            assertThat(three.framesReceived()).isPositive();
            assertThat(three.retransmissions()).isZero();
            assertThat(c.node(1).counter(Counter.PEER_SPOOFS)).isZero();
        }
    }

    /**
     * A node with discovery off (issue 16, item 12) announces itself to no one and takes no node from a HELLO: only its
     * static peers; the others still find each other.
     */
    @Test
    void aNodeWithDiscoveryOffKnowsOnlyItsStaticPeers() {
        try (Cluster c = new Cluster(3, 1500, Faults.NONE, 26, false)) {
            c.node(1).discovery(false);
            c.node(1).peer(2, c.wire().address(2));
            c.settle(5);
            idle(c, 2.5);
            assertThat(c.node(1).peers()).extracting(PeerInfo::node, PeerInfo::origin, PeerInfo::up)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(2, PeerInfo.Origin.STATIC, true));
            assertThat(c.node(1).counter(Counter.UNKNOWN_SOURCE_DROPS)).as("node 3's HELLOs").isPositive();
            assertThat(info(c.node(3), 1)).as("node 1 sends no discovery HELLO").isNull();
            assertThat(info(c.node(3), 2).up()).isTrue();
            assertThat(info(c.node(2), 1).up()).as("answered node 1's unicast HELLOs").isTrue();
        }
    }

    @Test
    void roundTripTimeComesFromOneOutstandingHelloProbe() {
        long[] clock = {SECOND};
        LoopbackWire wire = new LoopbackWire();
        VerbsEngine a = new VerbsEngine(1, () -> clock[0], 1L);
        VerbsEngine b = new VerbsEngine(2, () -> clock[0], 2L);
        LoopbackPort pa = new LoopbackPort(wire, 1, 1500, 1 << 20);
        LoopbackPort pb = new LoopbackPort(wire, 2, 1500, 1 << 20);
        try {
            a.nic(pa);
            b.nic(pb);
            a.peer(2, wire.address(2));
            b.peer(1, wire.address(1));
            long t0 = clock[0];
            a.doWork();                 // HELLO to node 2, probe 1
            assertThat(info(a, 2).roundTripNanos()).isEqualTo(-1);
            clock[0] += 50_000;
            b.doWork();                 // HELLO_REPLY to node 1; its own HELLO to node 1
            clock[0] += 30_000;
            a.doWork();                 // the reply: 80 µs; answers node 2's HELLO
            assertThat(info(a, 2).roundTripNanos()).isEqualTo(80_000);
            assertThat(info(a, 2).up()).isTrue();
            clock[0] += 20_000;
            b.doWork();                 // node 1's reply to node 2's HELLO of t0 + 50 µs: 50 µs
            assertThat(info(b, 1).roundTripNanos()).isEqualTo(50_000);

            clock[0] = t0 + SECOND;     // next period: a sample of 160 µs, smoothed by 1/8
            a.doWork();
            clock[0] += 100_000;
            b.doWork();
            clock[0] += 60_000;
            a.doWork();
            assertThat(info(a, 2).roundTripNanos()).isEqualTo(80_000 + (160_000 - 80_000) / 8);

            clock[0] = t0 + 2 * SECOND; // a probe node 2 does not answer in time is given up for the next one
            a.doWork();
            clock[0] = t0 + 3 * SECOND;
            a.doWork();
            clock[0] += 40_000;
            b.doWork();                 // answers both HELLOs
            clock[0] += 40_000;
            a.doWork();                 // only the reply to the newest probe is a sample: 80 µs
            assertThat(info(a, 2).roundTripNanos()).isEqualTo(90_000 + (80_000 - 90_000) / 8);
        } finally {
            pa.close();
            pb.close();
        }
    }

    @Test
    void aSilentPeerGoesDownAfterThreeHelloPeriodsItsQueuePairsFailAndItComesBackUsable() throws Exception {
        try (Cluster c = new Cluster(2, 1500, Faults.NONE, 22)) {
            Cluster.Dom a = c.domain(1, 1, "a");
            Cluster.Dom b = c.domain(2, 2, "b");
            MemoryRegion ma = a.region(65536, AccessFlags.ALL, 1);
            MemoryRegion mb = b.region(65536, AccessFlags.ALL, 2);
            QueuePair[] pair = c.connect(a, b, 1);
            assertThat(info(c.node(1), 2).up()).isTrue();

            c.node(2).nic(null);        // node 2 falls silent: its NIC is gone, frames to it vanish
            c.ports().get(1).close();
            idle(c, 2.5);
            assertThat(info(c.node(1), 2).up()).as("silent for less than three periods").isTrue();
            idle(c, 2);
            assertThat(info(c.node(1), 2).up()).as("silent for more than three periods").isFalse();

            pair[0].postSend(write(1, ma, 10_000, mb));
            c.runUntil(() -> !a.drainCq().isEmpty(), 60 * SECOND);
            assertThat(a.polled.get(0).status()).isEqualTo(WcStatus.RETRY_EXC_ERR);
            assertThat(pair[0].state()).isEqualTo(QpState.ERR);
            assertThat(info(c.node(1), 2).retransmissions()).isEqualTo(c.node(1).counter(Counter.RETRANSMISSIONS))
                    .isPositive();

            LoopbackPort back = new LoopbackPort(c.wire(), 2, 1500, 1 << 24);
            try {
                c.node(2).nic(back);
                idle(c, 1.5);
                assertThat(info(c.node(1), 2).up()).as("answers again").isTrue();
                QueuePair[] again = c.connect(a, b, 2);
                again[0].postSend(write(2, ma, 30_000, mb));
                c.runUntil(() -> a.drainCq().size() == 2, SECOND);
                assertThat(a.polled.get(1).status()).isEqualTo(WcStatus.SUCCESS);
                assertThat(VerbsFixture.bytes(mb, mb.address(), 30_000))
                        .isEqualTo(VerbsFixture.bytes(ma, ma.address(), 30_000));
            } finally {
                back.close();
            }
        }
    }

    @Test
    void helloSpoofsAreDroppedAndCountedAndStaticEntriesAlwaysWin() {
        // The table's own rules, with auth = off: HostileHostTest shows what authentication adds.
        try (Cluster c = new Cluster(3, 1500, Faults.NONE, 23).authenticationOff()) {
            c.settle(3);
            VerbsEngine node1 = c.node(1);
            LoopbackPort third = c.ports().get(2);
            long spoofs = node1.counter(Counter.PEER_SPOOFS);
            hello(third, c.wire().address(1), 2, 1, false, 1);             // node 3's port claims to be node 2
            hello(third, LoopbackWire.BROADCAST, 2, 0xFFFF, true, 1);    // and says so to everyone
            c.settle(2);
            assertThat(node1.counter(Counter.PEER_SPOOFS) - spoofs).isEqualTo(2);
            assertThat(c.node(2).counter(Counter.PEER_SPOOFS)).as("node 2 hears its own id from elsewhere").isZero();
            assertThat(info(node1, 2).address()).isEqualTo(c.wire().address(2));
            assertThat(info(node1, 2).origin()).isEqualTo(PeerInfo.Origin.STATIC);

            LoopbackPort stranger = new LoopbackPort(c.wire(), 9, 1500, 1 << 20);
            LoopbackPort elsewhere = new LoopbackPort(c.wire(), 10, 1500, 1 << 20);
            try {
                hello(stranger, LoopbackWire.BROADCAST, 7, 0xFFFF, true, 1);
                c.settle(2);
                assertThat(info(node1, 7)).extracting(PeerInfo::origin, PeerInfo::up, PeerInfo::address)
                        .containsExactly(PeerInfo.Origin.DISCOVERED, true, c.wire().address(9));
                spoofs = node1.counter(Counter.PEER_SPOOFS);
                hello(elsewhere, c.wire().address(1), 7, 1, false, 1);         // node 7 is up at port 9
                c.settle(2);
                assertThat(node1.counter(Counter.PEER_SPOOFS) - spoofs).isEqualTo(1);
                assertThat(info(node1, 7).address()).isEqualTo(c.wire().address(9));

                idle(c, 3.5);                                               // port 9 says nothing more
                assertThat(info(node1, 7).up()).isFalse();
                hello(elsewhere, LoopbackWire.BROADCAST, 7, 0xFFFF, true, 1); // a discovered node that went down moves
                c.settle(2);
                assertThat(info(node1, 7)).extracting(PeerInfo::up, PeerInfo::address)
                        .containsExactly(true, c.wire().address(10));

                long unknown = node1.counter(Counter.UNKNOWN_SOURCE_DROPS);
                hello(stranger, c.wire().address(1), 1, 1, false, 1);          // claims to be node 1 itself
                hello(stranger, c.wire().address(1), 8, 5, false, 1);          // for another node
                c.settle(2);
                assertThat(node1.counter(Counter.UNKNOWN_SOURCE_DROPS) - unknown).isEqualTo(2);
                assertThat(info(node1, 8)).isNull();
            } finally {
                stranger.close();
                elsewhere.close();
            }
        }
    }

    @Test
    void aFloodOfMadeUpNodesFillsTheDiscoveredTableOnlyUntilTheyFallSilent() {
        // With auth = off: with it on, made-up nodes never answer a challenge, so they never hold a place (HostileHostTest).
        try (Cluster c = new Cluster(2, 1500, Faults.NONE, 25, false).authenticationOff()) {
            c.settle(3);
            VerbsEngine node1 = c.node(1);
            assertThat(info(node1, 2).origin()).isEqualTo(PeerInfo.Origin.DISCOVERED);
            LoopbackPort flooder = new LoopbackPort(c.wire(), 9, 1500, 1 << 20);
            LoopbackPort newcomer = new LoopbackPort(c.wire(), 10, 1500, 1 << 20);
            try {
                for (int n = 0; n < PeerTable.MAX_DISCOVERED + 100; n++) {
                    hello(flooder, LoopbackWire.BROADCAST, 1000 + n, 0xFFFF, true, 1);
                    if (n % 100 == 99) {
                        c.settle(1);
                    }
                }
                c.settle(2);
                assertThat(node1.peers()).as("node 2 and made-up nodes up to the cap")
                        .hasSize(PeerTable.MAX_DISCOVERED);
                long unknown = node1.counter(Counter.UNKNOWN_SOURCE_DROPS);
                hello(newcomer, LoopbackWire.BROADCAST, 5000, 0xFFFF, true, 1);
                c.settle(2);
                assertThat(info(node1, 5000)).as("every discovered peer is up: no room").isNull();
                assertThat(node1.counter(Counter.UNKNOWN_SOURCE_DROPS) - unknown).isEqualTo(1);

                idle(c, 3.5);                                          // the made-up nodes never answer
                hello(newcomer, LoopbackWire.BROADCAST, 5000, 0xFFFF, true, 1);
                c.settle(2);
                assertThat(info(node1, 5000)).extracting(PeerInfo::origin, PeerInfo::up, PeerInfo::address)
                        .containsExactly(PeerInfo.Origin.DISCOVERED, true, c.wire().address(10));
                assertThat(info(node1, 2).up()).as("a live discovered peer is never the one forgotten").isTrue();
                assertThat(node1.peers()).hasSize(PeerTable.MAX_DISCOVERED);
            } finally {
                flooder.close();
                newcomer.close();
            }
        }
    }

    @Test
    void theStaticTableIsReplacedWholeAndDiscoveredPeersStay() {
        try (Cluster c = new Cluster(3, 1500, Faults.NONE, 24, false)) {
            c.settle(5);
            VerbsEngine node1 = c.node(1);
            long received = info(node1, 2).framesReceived();
            assertThat(received).isPositive();

            node1.staticPeers(Map.of(2, c.wire().address(2)));
            assertThat(info(node1, 2)).extracting(PeerInfo::origin, PeerInfo::up)
                    .containsExactly(PeerInfo.Origin.STATIC, true);
            assertThat(info(node1, 2).framesReceived()).as("same peer, counters kept").isEqualTo(received);
            assertThat(info(node1, 3).origin()).isEqualTo(PeerInfo.Origin.DISCOVERED);

            node1.staticPeers(Map.of(3, c.wire().address(3)));
            assertThat(info(node1, 2)).as("no longer configured").isNull();
            assertThat(info(node1, 3).origin()).isEqualTo(PeerInfo.Origin.STATIC);
            idle(c, 1.5);
            assertThat(info(node1, 2)).as("found again by its discovery HELLO")
                    .extracting(PeerInfo::origin, PeerInfo::up).containsExactly(PeerInfo.Origin.DISCOVERED, true);

            node1.staticPeers(Map.of(3, LinkAddress.of((byte) 0, (byte) 33)));
            assertThat(info(node1, 3)).extracting(PeerInfo::up, PeerInfo::framesReceived).containsExactly(false, 0L);
            assertThatThrownBy(() -> node1.staticPeers(Map.of(1, c.wire().address(2))))
                    .hasMessageContaining("not this node's");
        }
    }
}
