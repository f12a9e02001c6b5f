package io.vmrdma.nic.packet.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import io.vmrdma.api.Counter;
import io.vmrdma.engine.internal.auth.FrameKeys;
import io.vmrdma.engine.internal.auth.NodeAuth;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameCheck;
import io.vmrdma.engine.internal.wire.FrameType;
import io.vmrdma.engine.testkit.CapturingPort;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * Two hosts on a bridge whose engines authenticate their frames, and a third host on the same bridge that has no
 * cluster secret (issue 16, item 8): from a raw socket it sends frames in node 1's name from node 1's MAC (forged
 * WRITE, DISCONNECT_REQUEST, HELLO, an unauthenticated WRITE), frames in node 1's name from its own MAC, a forged ACK in
 * node 2's name, and frames captured on the segment earlier, byte for byte. Every one is counted as dropped, and the
 * transfer running meanwhile completes byte-identical. The bridge floods every frame, as a hub would: on a learning
 * bridge, frames from a forged source MAC would divert that host's traffic to the attacker, an attack on the
 * segment's switching that authentication does not address (docs/security.md).
 */
class AuthenticatedHostsTest {

    private static final int MTU = 9000;
    private static final int SOCKET_BUFFER = 32 << 20;
    private static final FrameKeys CLUSTER = new FrameKeys(
            "the two hosts' cluster secret ..".getBytes(StandardCharsets.US_ASCII));
    private static final FrameKeys ATTACKER = new FrameKeys(
            "a secret the attacker made up ..".getBytes(StandardCharsets.US_ASCII));

    /** Frame-level drops of one engine: every way an injected frame may be refused. */
    private static long dropped(VerbsEngine e) {
        return e.counter(Counter.AUTH_FAILURES) + e.counter(Counter.REPLAYS) + e.counter(Counter.UNKNOWN_SOURCE_DROPS)
                + e.counter(Counter.PEER_SPOOFS) + e.counter(Counter.MALFORMED_FRAMES) + e.counter(Counter.CRC_ERRORS);
    }

    @Test
    void framesAHostWithoutTheSecretForgesOrReplaysAreDroppedAndCountedWhileATransferRuns() throws Exception {
        try (BridgeLan lan = BridgeLan.create(3, MTU).flooding();
                PacketPort p0 = lan.port(0, SOCKET_BUFFER);
                PacketPort p1 = lan.port(1, SOCKET_BUFFER);
                RawInjector attacker = lan.hosts.get(2).call(() -> new RawInjector(lan.interfaces.get(2)))) {
            CapturingPort seenBy1 = new CapturingPort(p0);
            CapturingPort seenBy2 = new CapturingPort(p1);
            Hosts hosts = new Hosts(seenBy1, seenBy2).authenticated(CLUSTER);
            Hosts.Transfer transfer = hosts.transfer(0, 1, 8 << 20, 7);
            VerbsEngine node1 = hosts.engines[0];
            VerbsEngine node2 = hosts.engines[1];
            byte[] mac1 = p0.address().toByteArray();
            byte[] mac2 = p1.address().toByteArray();
            byte[] attackerMac = {0x02, 0x00, 0x5e, 0x10, 0x20, 0x31};
            transfer.post();
            hosts.run(() -> node2.counter(Counter.FRAMES_RECEIVED) > 200);
            assertThat(transfer.poll()).as("the transfer is still running").isFalse();
            long before = dropped(node1) + dropped(node2);
            long protectionFaults = node2.counter(Counter.PROTECTION_FAULTS);

            int requesterQpn = transfer.requester.address().qpn();
            int responderQpn = transfer.responder.address().qpn();
            int pkey = transfer.responder.pkey();
            List<byte[]> toNode2 = List.of(
                    forged(FrameType.WRITE, 1, 2, 8, (f, at) -> {
                        Frame.writeBase(f, at, FrameType.WRITE, Frame.FLAG_FIRST | Frame.FLAG_LAST, 1, 2, pkey, 8,
                                responderQpn, requesterQpn, 0, 0);
                        f.putLong(at + Extension.Write.REMOTE_ADDRESS, 0x2000_0000L, Frame.ORDER);
                    }),
                    unauthenticatedWrite(pkey, responderQpn, requesterQpn),
                    forged(FrameType.DISCONNECT_REQUEST, 1, 2, 0, (f, at) -> Frame.writeBase(f, at,
                            FrameType.DISCONNECT_REQUEST, 0, 1, 2, pkey, 0, responderQpn, requesterQpn, 0, 0)),
                    forged(FrameType.HELLO, 1, 2, 8, (f, at) -> {
                        Frame.writeBase(f, at, FrameType.HELLO, 0, 1, 2, 0, 8, 0, 0, 0, 0);
                        f.putShort(at + Extension.Hello.PROTOCOL_VERSION, (short) 2, Frame.ORDER);
                    }),
                    seenBy2.first(FrameType.WRITE, 1),
                    seenBy2.first(FrameType.CM_REQUEST, 1),
                    seenBy2.first(FrameType.HELLO, 1));
            for (byte[] frame : toNode2) {
                attacker.send(RawInjector.ethernet(mac2, mac1, 0x88B5, frame));
            }
            // Node 1's id from the attacker's own MAC: refused before any key is tried.
            attacker.send(RawInjector.ethernet(mac2, attackerMac, 0x88B5, toNode2.get(0)));
            attacker.send(RawInjector.ethernet(mac2, attackerMac, 0x88B5, toNode2.get(3)));
            // To node 1, in node 2's name: every PSN acknowledged, and an acknowledgement captured earlier.
            attacker.send(RawInjector.ethernet(mac1, mac2, 0x88B5, forged(FrameType.ACK, 2, 1, 0, (f, at) -> {
                Frame.writeBase(f, at, FrameType.ACK, 0, 2, 1, pkey, 0, requesterQpn, responderQpn, 0, 1 << 30);
                f.putLong(at + Extension.Ack.SACK, -1L, Frame.ORDER);
            })));
            attacker.send(RawInjector.ethernet(mac1, mac2, 0x88B5, seenBy1.first(FrameType.ACK, 2)));
            int injected = toNode2.size() + 4;

            hosts.run(() -> dropped(node1) + dropped(node2) - before >= injected);
            hosts.runUntilAllDone(List.of(transfer));
            transfer.assertArrivedByteIdentical();
            assertThat(dropped(node1) + dropped(node2) - before).as("every injected frame, once").isEqualTo(injected);
            assertThat(node2.counter(Counter.PROTECTION_FAULTS)).isEqualTo(protectionFaults);
            assertThat(node2.counter(Counter.VERSION_MISMATCHES) + node2.counter(Counter.CM_DISCONNECTED)).isZero();
            assertThat(node1.peerUp(2) && node2.peerUp(1)).isTrue();
            System.out.printf("injected %d: node 1 auth failures %d, replays %d; node 2 auth failures %d, replays %d,"
                    + " unknown source %d, spoofs %d%n", injected, node1.counter(Counter.AUTH_FAILURES),
                    node1.counter(Counter.REPLAYS), node2.counter(Counter.AUTH_FAILURES),
                    node2.counter(Counter.REPLAYS),
                    node2.counter(Counter.UNKNOWN_SOURCE_DROPS), node2.counter(Counter.PEER_SPOOFS));
        }
    }

    interface Fields {
        void write(UnsafeBuffer frame, int at);
    }

    /** A frame in node {@code src}'s name, tagged under a key the attacker made up: only the key is wrong. */
    private static byte[] forged(FrameType type, int src, int dst, int payloadLength, Fields fields) {
        int length = Frame.length(type.headerLength(), payloadLength, true);
        ByteBuffer frame = ByteBuffer.allocateDirect(length);
        UnsafeBuffer b = new UnsafeBuffer(frame);
        fields.write(b, 0);
        b.putShort(Frame.FLAGS_OFFSET, (short) (Frame.flags(b, 0) | Frame.FLAG_AUTH), Frame.ORDER);
        new FrameCheck().sealHeader(frame, 0, type.headerLength());
        NodeAuth forger = new NodeAuth(ATTACKER, src);
        forger.seal(frame, 0, type.headerLength() + payloadLength, forger.peer(dst).out);
        byte[] bytes = new byte[length];
        frame.get(0, bytes);
        return bytes;
    }

    /** A WRITE from node 1 as a node with auth = off sends it: CRCs, no tag. */
    private static byte[] unauthenticatedWrite(int pkey, int dstQpn, int srcQpn) {
        int header = FrameType.WRITE.headerLength();
        ByteBuffer frame = ByteBuffer.allocateDirect(Frame.length(header, 8));
        UnsafeBuffer b = new UnsafeBuffer(frame);
        Frame.writeBase(b, 0, FrameType.WRITE, Frame.FLAG_FIRST | Frame.FLAG_LAST, 1, 2, pkey, 8, dstQpn, srcQpn, 0, 0);
        new FrameCheck().seal(frame, 0, header, 8);
        byte[] bytes = new byte[frame.capacity()];
        frame.get(0, bytes);
        return bytes;
    }
}
