package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

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
import io.vmrdma.engine.internal.auth.FrameKeys;
import io.vmrdma.engine.internal.auth.NodeAuth;
import io.vmrdma.engine.internal.transport.WireQp;
import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameType;
import io.vmrdma.engine.testkit.CapturingPort;
import io.vmrdma.engine.testkit.Cluster;
import io.vmrdma.nic.faults.Faults;
import io.vmrdma.nic.loopback.internal.LoopbackPort;
import io.vmrdma.nic.loopback.internal.LoopbackWire;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * A host on the segment without the cluster secret attacks (issue 16, item 8), through node 1's NIC port: it forges
 * frames in a peer's name from the peer's own link address or from elsewhere, and replays frames it captured, also
 * after their sender restarted. Each frame is dropped and counted, nothing it says is believed, and a transfer
 * running beside the attack completes byte-identical.
 */
class HostileHostTest {

    /** The secret of another cluster: what an attacker who guesses or brings its own key has. */
    private static final FrameKeys WRONG_KEYS = new FrameKeys(
            "not this cluster's secret, 32 by".getBytes(StandardCharsets.US_ASCII));

    private final Insider sealer = new Insider();
    private final FrameClaim claim = new FrameClaim();

    /** A 1 MiB RDMA WRITE from a domain on node 2 to one on node 1, posted and then run beside an attack. */
    private static final class Transfer {
        final Cluster.Dom writer;
        final MemoryRegion source;
        final MemoryRegion target;
        final Qp requester;
        final Qp responder;

        Transfer(Cluster c, int writerDomid, int readerDomid, long service) throws Exception {
            writer = c.domain(2, writerDomid, "w" + writerDomid);
            Cluster.Dom reader = c.domain(1, readerDomid, "r" + readerDomid);
            source = writer.region(1 << 20, AccessFlags.ALL, writerDomid);
            target = reader.region(1 << 20, AccessFlags.ALL, readerDomid);
            QueuePair[] pair = c.connect(writer, reader, service);
            requester = (Qp) pair[0];
            responder = (Qp) pair[1];
        }

        Transfer post() throws Exception {
            SendWorkRequest write = new SendWorkRequest().wrId(1).opcode(Opcode.RDMA_WRITE)
                    .sendFlags(SendFlags.SIGNALED).remoteAddress(target.address()).rkey(target.rkey());
            write.sgl().add(source.address(), 1 << 20, source.lkey());
            requester.postSend(write);
            return this;
        }

        void completesByteIdentical(Cluster c) {
            c.runUntil(() -> !writer.drainCq().isEmpty(), 10_000_000_000L);
            assertThat(writer.polled).extracting(wc -> wc.status()).containsExactly(WcStatus.SUCCESS);
            assertThat(VerbsFixture.snapshot(target)).isEqualTo(VerbsFixture.snapshot(source));
        }
    }

    /** Node 1's port, keeping a copy of every frame node 1 receives. */
    private static CapturingPort tap(Cluster c) {
        CapturingPort tap = new CapturingPort(c.nics().get(0));
        c.node(1).nic(tap);
        return tap;
    }

    /** Puts {@code frame} on the wire from {@code from} to {@code to} byte for byte. */
    private void replay(LoopbackPort from, LinkAddress to, byte[] frame) {
        assertThat(from.tryClaim(to, frame.length, claim)).isTrue();
        claim.buffer().put(claim.offset(), frame);
        from.commit(claim, frame.length);
    }

    /**
     * A frame of {@code type} in the name of node {@code src}, tagged with a key of another cluster (a good header CRC,
     * the AUTH flag, a trailer of the right shape: only the key is wrong).
     */
    private void forge(LoopbackPort from, LinkAddress to, int src, FrameType type, int payloadLength,
                       FrameInjector.Fields fields) {
        int length = Insider.length(type, payloadLength);
        assertThat(from.tryClaim(to, length, claim)).isTrue();
        UnsafeBuffer frame = new UnsafeBuffer(claim.buffer());
        frame.setMemory(claim.offset(), length, (byte) 0);
        fields.write(frame, claim.offset());
        sealer.sealAs(new NodeAuth(WRONG_KEYS, src), claim.buffer(), claim.offset(), type.headerLength(),
                payloadLength);
        from.commit(claim, length);
    }

    private static FrameInjector.Fields hello(int src, int dst, int flags, int version) {
        return (f, at) -> {
            Frame.writeBase(f, at, FrameType.HELLO, flags, src, dst, 0, 8, 0, 0, 0, 0);
            f.putShort(at + Extension.Hello.PROTOCOL_VERSION, (short) version, Frame.ORDER);
            f.putInt(at + Extension.Hello.MTU, 9000, Frame.ORDER);
        };
    }

    private static PeerInfo info(VerbsEngine engine, int node) {
        return engine.peers().stream().filter(p -> p.node() == node).findFirst().orElse(null);
    }

    @Test
    void aForgedHelloDoesNotHijackADiscoveredPeer() throws Exception {
        try (Cluster c = new Cluster(3, 9000, Faults.NONE, 31, false)) {
            c.runUntil(() -> c.node(1).peerUp(2) && c.node(2).peerUp(1), 5_000_000_000L);
            Transfer transfer = new Transfer(c, 1, 2, 5).post();
            VerbsEngine node1 = c.node(1);
            LoopbackPort attacker = c.ports().get(2);
            long spoofs = node1.counter(Counter.PEER_SPOOFS);
            long authFailures = node1.counter(Counter.AUTH_FAILURES);

            forge(attacker, c.wire().address(1), 2, FrameType.HELLO, 8, hello(2, 1, 0, 1));
            forge(attacker, LoopbackWire.BROADCAST, 2, FrameType.HELLO, 8,
                    hello(2, Extension.Hello.ANY_NODE, Extension.Hello.FLAG_DISCOVERY, 1));
            c.node(1).doWork();
            assertThat(node1.counter(Counter.PEER_SPOOFS) - spoofs).as("node 2 is up at another address").isEqualTo(2);

            // Node 2 falls silent (its port still attached, its engine no longer run), and is marked down: the moment
            // a hijacker waits for.
            LoopbackWire wire = c.wire();
            for (int i = 0; i < 40; i++) {
                node1.doWork();
                c.engines().get(2).doWork();
                c.advance(100_000_000);
            }
            assertThat(node1.peerUp(2)).isFalse();
            forge(attacker, wire.address(1), 2, FrameType.HELLO, 8, hello(2, 1, 0, 1));
            node1.doWork();
            assertThat(node1.counter(Counter.AUTH_FAILURES) - authFailures).isEqualTo(1);
            assertThat(info(node1, 2).address()).as("not moved").isEqualTo(wire.address(2));

            transfer.completesByteIdentical(c);
            assertThat(info(node1, 2)).extracting(PeerInfo::up, PeerInfo::address).containsExactly(true,
                    wire.address(2));
        }
    }

    @Test
    void aForgedOrReplayedHelloDoesNotMarkAStaticPeerDown() throws Exception {
        try (Cluster c = new Cluster(2, 9000, Faults.NONE, 32)) {
            CapturingPort tap = tap(c);
            c.settle(3);
            c.advance(1_100_000_000L);
            c.settle(3);
            byte[] genuineHello = tap.first(FrameType.HELLO, 2);
            Transfer transfer = new Transfer(c, 1, 2, 5).post();
            VerbsEngine node1 = c.node(1);
            LoopbackPort node2Port = c.ports().get(1);
            long authFailures = node1.counter(Counter.AUTH_FAILURES);
            long replays = node1.counter(Counter.REPLAYS);

            // From node 2's own address, announcing another protocol version: once believed, node 2 would be down.
            forge(node2Port, c.wire().address(1), 2, FrameType.HELLO, 8, hello(2, 1, 0, 2));
            replay(node2Port, c.wire().address(1), genuineHello);
            node1.doWork();
            assertThat(node1.counter(Counter.AUTH_FAILURES) - authFailures).isEqualTo(1);
            assertThat(node1.counter(Counter.REPLAYS) - replays).isEqualTo(1);
            assertThat(node1.counter(Counter.VERSION_MISMATCHES)).isZero();
            assertThat(node1.peerUp(2)).isTrue();

            transfer.completesByteIdentical(c);
        }
    }

    @Test
    void spoofedDisconnectRequestsDoNotTearAConnectionDown() throws Exception {
        try (Cluster c = new Cluster(2, 9000, Faults.NONE, 33)) {
            Transfer transfer = new Transfer(c, 1, 2, 5);
            VerbsEngine node1 = c.node(1);
            long authFailures = node1.counter(Counter.AUTH_FAILURES);
            for (int i = 0; i < 49; i++) {
                forge(c.ports().get(1), c.wire().address(1), 2, FrameType.DISCONNECT_REQUEST, 0,
                        (f, at) -> Frame.writeBase(f, at, FrameType.DISCONNECT_REQUEST, 0, 2, 1,
                                transfer.responder.pkey(), 0,
                                transfer.responder.address().qpn(), transfer.requester.address().qpn(), 0, 0));
            }
            transfer.post();
            c.node(1).doWork();
            assertThat(node1.counter(Counter.AUTH_FAILURES) - authFailures).isEqualTo(49);
            assertThat(node1.counter(Counter.CM_DISCONNECTED)).isZero();
            assertThat(transfer.responder.state()).isEqualTo(QpState.RTS);
            transfer.completesByteIdentical(c);
        }
    }

    @Test
    void aSpoofedAckInsideTheWindowCompletesNothing() throws Exception {
        try (Cluster c = new Cluster(2, 9000, Faults.NONE, 34)) {
            Transfer transfer = new Transfer(c, 1, 2, 5).post();
            VerbsEngine node2 = c.node(2);
            node2.doWork();
            WireQp sender = transfer.requester.wire();
            assertThat(sender.nextPsn() - sender.basePsn()).as("packets outstanding").isPositive();
            long authFailures = node2.counter(Counter.AUTH_FAILURES);

            // Node 1's frames in the other direction, from node 1's address: "everything sent was received".
            forge(c.ports().get(0), c.wire().address(2), 1, FrameType.ACK, 0, (f, at) -> {
                Frame.writeBase(f, at, FrameType.ACK, 0, 1, 2, transfer.requester.pkey(), 0,
                        transfer.requester.address().qpn(), transfer.responder.address().qpn(), 0, sender.nextPsn());
                f.putLong(at + Extension.Ack.SACK, -1L, Frame.ORDER);
            });
            node2.doWork();
            assertThat(node2.counter(Counter.AUTH_FAILURES) - authFailures).isEqualTo(1);
            assertThat(transfer.writer.drainCq()).as("nothing completes on a forged ACK").isEmpty();
            transfer.completesByteIdentical(c);
        }
    }

    @Test
    void aCapturedFrameReplayedIsDroppedAsAReplay() throws Exception {
        try (Cluster c = new Cluster(2, 9000, Faults.NONE, 35)) {
            CapturingPort tap = tap(c);
            Transfer first = new Transfer(c, 1, 2, 5).post();
            first.completesByteIdentical(c);
            byte[] write = tap.first(FrameType.WRITE, 2);
            byte[] cmRequest = tap.first(FrameType.CM_REQUEST, 2);
            Transfer second = new Transfer(c, 3, 4, 6).post();
            VerbsEngine node1 = c.node(1);
            long replays = node1.counter(Counter.REPLAYS);
            long duplicates = node1.counter(Counter.DUPLICATES_DROPPED);
            long requests = node1.counter(Counter.CM_CONNECT_REQUESTS);

            replay(c.ports().get(1), c.wire().address(1), write);
            replay(c.ports().get(1), c.wire().address(1), cmRequest);
            node1.doWork();
            assertThat(node1.counter(Counter.REPLAYS) - replays).isEqualTo(2);
            assertThat(node1.counter(Counter.DUPLICATES_DROPPED) - duplicates).as("never reached the PSN check")
                    .isZero();
            assertThat(node1.counter(Counter.CM_CONNECT_REQUESTS)).isEqualTo(requests);
            second.completesByteIdentical(c);
        }
    }

    @Test
    void framesCapturedBeforeAPeerRestartedAreRefusedAfterIt() throws Exception {
        try (Cluster c = new Cluster(2, 9000, Faults.NONE, 36)) {
            CapturingPort tap = tap(c);
            new Transfer(c, 1, 2, 5).post().completesByteIdentical(c);
            c.advance(1_100_000_000L);
            c.settle(3);
            byte[] oldHello = tap.first(FrameType.HELLO, 2);
            byte[] oldReply = tap.first(FrameType.HELLO_REPLY, 2);
            byte[] oldWrite = tap.first(FrameType.WRITE, 2);

            // Node 2 restarts: a new engine (a new epoch) on the same address.
            int restart = tap.captured();
            c.ports().get(1).close();
            VerbsEngine restarted = new VerbsEngine(2, () -> c.now(), 99L);
            restarted.authentication(Cluster.KEYS);
            LoopbackPort port = new LoopbackPort(c.wire(), 2, 9000, 1 << 24);
            restarted.nic(port);
            restarted.peer(1, c.wire().address(1));
            c.engines().set(1, restarted);
            c.ports().set(1, port);
            c.nics().set(1, port);
            VerbsEngine node1 = c.node(1);
            long replaysBefore = node1.counter(Counter.REPLAYS);
            c.runUntil(() -> node1.peerUp(2) && restarted.peerUp(1) && restarted.peers().get(0).framesReceived() > 0,
                    5_000_000_000L);
            assertThat(node1.counter(Counter.REPLAYS) - replaysBefore)
                    .as("the restarted node's first frames, before it answered a challenge").isLessThanOrEqualTo(2);
            Transfer transfer = new Transfer(c, 3, 4, 6).post();
            // Sent under the new epoch before node 1 had confirmed it: not believed then, so never later either.
            byte[] newHelloBeforeConfirmed = tap.first(FrameType.HELLO, 2, restart);

            long replays = node1.counter(Counter.REPLAYS);
            long received = node1.counter(Counter.FRAMES_RECEIVED);
            replay(port, c.wire().address(1), oldHello);
            replay(port, c.wire().address(1), oldReply);
            replay(port, c.wire().address(1), oldWrite);
            replay(port, c.wire().address(1), newHelloBeforeConfirmed);
            node1.doWork();
            assertThat(node1.counter(Counter.REPLAYS) - replays).isEqualTo(4);
            assertThat(node1.peerUp(2)).isTrue();
            transfer.completesByteIdentical(c);
            assertThat(node1.counter(Counter.FRAMES_RECEIVED)).isGreaterThan(received);
        }
    }

    @Test
    void aFlippedBitInPayloadOrHeaderIsRefused() throws Exception {
        try (Cluster c = new Cluster(2, 9000, Faults.NONE, 37)) {
            CapturingPort tap = tap(c);
            Transfer transfer = new Transfer(c, 1, 2, 5).post();
            VerbsEngine node2 = c.node(2);
            node2.doWork();
            c.node(1).doWork();
            byte[] write = tap.first(FrameType.WRITE, 2);
            VerbsEngine node1 = c.node(1);
            long authFailures = node1.counter(Counter.AUTH_FAILURES);
            long crcErrors = node1.counter(Counter.CRC_ERRORS);

            byte[] payloadFlipped = write.clone();
            payloadFlipped[FrameType.WRITE.headerLength() + 100] ^= 0x04;
            byte[] headerFlipped = write.clone();
            headerFlipped[Frame.PSN_OFFSET] ^= 0x01;
            byte[] headerFlippedResealed = headerFlipped.clone();
            ByteBuffer resealed = ByteBuffer.wrap(headerFlippedResealed);
            new io.vmrdma.engine.internal.wire.FrameCheck().sealHeader(resealed, 0, FrameType.WRITE.headerLength());
            replay(c.ports().get(1), c.wire().address(1), payloadFlipped);
            replay(c.ports().get(1), c.wire().address(1), headerFlipped);
            replay(c.ports().get(1), c.wire().address(1), headerFlippedResealed);
            node1.doWork();
            assertThat(node1.counter(Counter.AUTH_FAILURES) - authFailures).as("payload; header with a good CRC")
                    .isEqualTo(2);
            assertThat(node1.counter(Counter.CRC_ERRORS) - crcErrors).as("header as noise flips it").isEqualTo(1);
            transfer.completesByteIdentical(c);
        }
    }
}
