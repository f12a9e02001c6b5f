package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.engine.internal.transport.WireQp;
import io.vmrdma.engine.internal.transport.WireRequester;
import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameType;
import io.vmrdma.engine.testkit.Cluster;
import io.vmrdma.nic.loopback.internal.LoopbackPort;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Control frames a hostile host forges (from the victim's peer's own link address, so only what the frames say can
 * give them away): connection-manager answers and disconnects, acknowledgements and NAKs. Each is dropped and
 * counted, or its harm bounded, while a transfer between the same two nodes goes on and arrives byte-identical.
 * Every test runs with frame authentication off and on: these checks do not rely on it; they hold for a fabric run
 * with it off, and against a peer that holds the cluster secret but lies.
 */
class HostileControlFramesTest {

    private final FrameInjector attacker = new FrameInjector();

    /** Node {@code n}'s own port: frames from it carry the link address node {@code n}'s peers know it by. */
    private static LoopbackPort portOf(Cluster c, int n) {
        return c.ports().get(n - 1);
    }

    @ParameterizedTest(name = "authenticated: {0}")
    @ValueSource(booleans = {false, true})
    void disconnectsWithoutTheConnectionIdAreDroppedAndCounted(boolean authenticated) throws Exception {
        try (Cluster c = FrameInjector.cluster(authenticated, 2, 21)) {
            Bystander victim = new Bystander(c);
            c.node(2).doWork();
            Qp target = victim.responder;
            long wireId = target.wire().connectionId();
            // What the listening domain was told, the ids next to the real one, and seeded guesses.
            long[] guesses = new long[49];
            guesses[0] = 0;
            guesses[1] = target.connection().id();
            guesses[2] = wireId - 1;
            guesses[3] = wireId + 1;
            Random random = new Random(21);
            for (int i = 4; i < guesses.length; i++) {
                guesses[i] = random.nextLong();
            }
            assertThat(guesses).doesNotContain(wireId);
            long dropped = c.node(1).counter(Counter.CONTROL_FRAME_DROPS);
            for (long guess : guesses) {
                disconnect(c, target, guess, target.pkey());
            }
            disconnect(c, target, wireId, 0x0123);
            c.settle(2);

            assertThat(c.node(1).counter(Counter.CONTROL_FRAME_DROPS) - dropped).isEqualTo(50);
            assertThat(target.state()).isEqualTo(QpState.RTS);
            assertThat(victim.a.verbs.pollCmEvent(new CmEvent())).isFalse();
            victim.assertDelivered(c);
        }
    }

    /** A DISCONNECT_REQUEST to {@code target} on node 1, as from its peer on node 2. */
    private void disconnect(Cluster c, Qp target, long connectionId, int pkey) {
        attacker.sendAsPeer(c, 2, target, FrameType.DISCONNECT_REQUEST, 0, (f, at) -> {
            f.putShort(at + Frame.PKEY_OFFSET, (short) pkey, Frame.ORDER);
            f.putLong(at + Extension.Cm.CONNECTION_ID, connectionId, Frame.ORDER);
        });
    }

    @ParameterizedTest(name = "authenticated: {0}")
    @ValueSource(booleans = {false, true})
    void answersToAConnectionRequestThatDoNotNameItAreDroppedAndCounted(boolean authenticated) throws Exception {
        try (Cluster c = FrameInjector.cluster(authenticated, 3, 22)) {
            Bystander victim = new Bystander(c);
            Cluster.Dom client = c.domain(1, 3, "client");
            Cluster.Dom server = c.domain(2, 4, "server");
            server.verbs.listen(9);
            QueuePair qp = client.qp();
            long id = client.verbs.connect(qp, 2, 9, -1, null);
            CmEvent request = server.nextCm();
            assertThat(request.type()).isEqualTo(CmEventType.CONNECT_REQUEST);

            long dropped = c.node(1).counter(Counter.CONTROL_FRAME_DROPS);
            int qpn = qp.address().qpn();
            Random random = new Random(22);
            for (FrameType type : new FrameType[] {FrameType.CM_REJECT, FrameType.CM_REPLY}) {
                answer(c, 2, type, random.nextLong() & Long.MAX_VALUE, qpn);
                answer(c, 2, type, id + 1, qpn);
                answer(c, 2, type, id, qpn + 1);
                answer(c, 3, type, id, qpn);
            }
            c.settle(2);

            assertThat(c.node(1).counter(Counter.CONTROL_FRAME_DROPS) - dropped).isEqualTo(8);
            assertThat(client.verbs.pollCmEvent(new CmEvent())).as("the client heard nothing").isFalse();
            assertThat(qp.state()).isEqualTo(QpState.RESET);
            server.verbs.accept(request.connectionId(), server.qp(), null);
            assertThat(client.nextCm().type()).isEqualTo(CmEventType.ESTABLISHED);
            assertThat(qp.state()).isEqualTo(QpState.RTS);
            victim.assertDelivered(c);
        }
    }

    /**
     * A CM_REPLY or CM_REJECT to queue pair {@code qpn} of node 1 naming {@code connectionId}, from node
     * {@code from}'s port and in its name; the reply offers the default partition, as a real one would.
     */
    private void answer(Cluster c, int from, FrameType type, long connectionId, int qpn) {
        int payload = type == FrameType.CM_REPLY ? 1 : 6;
        attacker.send(c, portOf(c, from), c.wire().address(1), type, payload, (f, at) -> {
            Frame.writeBase(f, at, type, 0, from, 1, 0, payload, qpn, 77, 0, 0);
            f.putLong(at + Extension.Cm.CONNECTION_ID, connectionId, Frame.ORDER);
            f.putLong(at + Extension.Cm.SERVICE_OR_DOMID, 4, Frame.ORDER);
            f.putInt(at + Extension.Cm.DOMID_OR_PKEY, io.vmrdma.api.verbs.Partitions.DEFAULT_PKEY, Frame.ORDER);
            if (type == FrameType.CM_REJECT) {
                f.putStringWithoutLengthAscii(at + type.headerLength(), "forged");
            }
        });
    }

    @ParameterizedTest(name = "authenticated: {0}")
    @ValueSource(booleans = {false, true})
    void acknowledgementsOfPsnsNeverSentOrFromTheWrongQueuePairAreDropped(boolean authenticated) throws Exception {
        try (Cluster c = FrameInjector.cluster(authenticated, 3, 23)) {
            Bystander victim = new Bystander(c);
            c.node(2).doWork();
            WireQp w = victim.requester.wire();
            int base = w.basePsn();
            int next = w.nextPsn();
            assertThat(next - base).as("packets in flight").isGreaterThan(1);

            long dropped = c.node(2).counter(Counter.CONTROL_FRAME_DROPS);
            long unknownQp = c.node(2).counter(Counter.UNKNOWN_QP_DROPS);
            ack(c, 1, victim, victim.responder.address().qpn(), next + 1, 0);
            ack(c, 1, victim, victim.responder.address().qpn(), next + 1_000_000, 0);
            ack(c, 1, victim, victim.responder.address().qpn(), next, 1L);
            ack(c, 1, victim, victim.responder.address().qpn(), next - 64, Long.MIN_VALUE);
            ack(c, 1, victim, victim.responder.address().qpn() + 1, next, 0);
            ack(c, 3, victim, victim.responder.address().qpn(), next, 0);
            c.node(2).doWork();

            assertThat(c.node(2).counter(Counter.CONTROL_FRAME_DROPS) - dropped).as("beyond what was sent")
                    .isEqualTo(4);
            assertThat(c.node(2).counter(Counter.UNKNOWN_QP_DROPS) - unknownQp).as("not the connected queue pair")
                    .isEqualTo(2);
            assertThat(w.basePsn()).as("nothing acknowledged").isEqualTo(base);
            assertThat(victim.b.drainCq()).as("nothing completed").isEmpty();
            victim.assertDelivered(c);
        }
    }

    /** An ACK to the bystander's requester on node 2, in the name of node {@code from}, from queue pair {@code srcQpn}. */
    private void ack(Cluster c, int from, Bystander victim, int srcQpn, int cumulative, long sack) {
        attacker.sendAsPeer(c, from, victim.requester, FrameType.ACK, cumulative, (f, at) -> {
            f.putInt(at + Frame.SRC_QPN_OFFSET, srcQpn, Frame.ORDER);
            f.putLong(at + Extension.Ack.SACK, sack, Frame.ORDER);
        });
    }

    @ParameterizedTest(name = "authenticated: {0}")
    @ValueSource(booleans = {false, true})
    void aReceiverNotReadyWaitIsCappedAndNaksOfWhatWasNotSentAreDropped(boolean authenticated) throws Exception {
        try (Cluster c = FrameInjector.cluster(authenticated, 2, 24)) {
            Bystander victim = new Bystander(c);
            Cluster.Dom server = c.domain(1, 3, "server");
            Cluster.Dom client = c.domain(2, 4, "client");
            MemoryRegion inbox = server.region(4096, AccessFlags.ALL, 3);
            MemoryRegion letter = client.region(4096, AccessFlags.ALL, 4);
            QueuePair[] pair = c.connect(client, server, 6);
            Qp sender = (Qp) pair[0];
            SendWorkRequest send = new SendWorkRequest().wrId(2).opcode(Opcode.SEND).sendFlags(SendFlags.SIGNALED);
            send.sgl().add(letter.address(), 4096, letter.lkey());
            sender.postSend(send);
            c.node(2).doWork();
            int psn = sender.wire().basePsn();
            long dropped = c.node(2).counter(Counter.CONTROL_FRAME_DROPS);
            long rnrNaks = sender.counters().get(Counter.RNR_NAKS);
            nak(c, victim.requester, victim.requester.wire().basePsn(), Extension.Nak.RECEIVER_NOT_READY, 10);
            // Node 1 has no receive posted yet: its genuine receiver-not-ready goes out before the forged one.
            c.node(1).doWork();
            nak(c, sender, psn, Extension.Nak.RECEIVER_NOT_READY, -1);
            nak(c, sender, sender.wire().nextPsn(), Extension.Nak.REMOTE_ACCESS, 0);
            nak(c, sender, psn, 9, 0);
            c.node(2).doWork();

            assertThat(c.node(2).counter(Counter.CONTROL_FRAME_DROPS) - dropped)
                    .as("never sent, no such code, receiver-not-ready for a WRITE").isEqualTo(3);
            assertThat(sender.counters().get(Counter.RNR_NAKS) - rnrNaks).as("the genuine one, then the forged one")
                    .isEqualTo(2);
            assertThat(sender.wire().rnrUntilNanos() - c.now()).as("the wait asked for, 71 minutes, capped")
                    .isPositive().isLessThanOrEqualTo(WireRequester.MAX_RNR_DELAY_NANOS);
            assertThat(WireRequester.rnrDelayNanos(-1)).isEqualTo(WireRequester.MAX_RNR_DELAY_NANOS);
            assertThat(WireRequester.rnrDelayNanos(0)).isEqualTo(1_000);

            RecvWorkRequest recv = new RecvWorkRequest().wrId(3);
            recv.sgl().add(inbox.address(), 4096, inbox.lkey());
            pair[1].postRecv(recv);
            c.runUntil(() -> !client.drainCq().isEmpty(), 2 * WireRequester.MAX_RNR_DELAY_NANOS);
            assertThat(client.polled.get(0).status()).isEqualTo(WcStatus.SUCCESS);
            assertThat(VerbsFixture.snapshot(inbox)).isEqualTo(VerbsFixture.snapshot(letter));
            victim.assertDelivered(c);
        }
    }

    /** A NAK to {@code target} on node 2 from its peer on node 1. */
    private void nak(Cluster c, Qp target, int psn, int code, int rnrMicros) {
        attacker.sendAsPeer(c, 1, target, FrameType.NAK, psn, (f, at) -> {
            f.putInt(at + Extension.Nak.CODE, code, Frame.ORDER);
            f.putInt(at + Extension.Nak.RNR_DELAY_MICROS, rnrMicros, Frame.ORDER);
        });
    }

    @ParameterizedTest(name = "authenticated: {0}")
    @ValueSource(booleans = {false, true})
    void destroyingAConnectedQueuePairTellsThePeer(boolean authenticated) throws Exception {
        try (Cluster c = FrameInjector.cluster(authenticated, 2, 25)) {
            Bystander victim = new Bystander(c);
            Cluster.Dom near = c.domain(1, 3, "near");
            Cluster.Dom far = c.domain(2, 4, "far");
            Cluster.Dom local = c.domain(1, 5, "local");
            QueuePair[] remote = c.connect(near, far, 6);
            QueuePair[] sameNode = c.connect(local, near, 7);

            far.verbs.destroyQp(remote[1]);
            CmEvent event = near.nextCm();
            assertThat(event.type()).isEqualTo(CmEventType.DISCONNECTED);
            assertThat(event.localQpn()).isEqualTo(remote[0].address().qpn());
            assertThat(remote[0].state()).isEqualTo(QpState.ERR);
            assertThat(far.verbs.pollCmEvent(new CmEvent())).as("no event for the queue pair destroyed").isFalse();

            near.verbs.destroyQp(sameNode[1]);
            event = local.nextCm();
            assertThat(event.type()).isEqualTo(CmEventType.DISCONNECTED);
            assertThat(sameNode[0].state()).isEqualTo(QpState.ERR);
            victim.assertDelivered(c);
        }
    }
}
