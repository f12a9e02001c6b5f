package io.vmrdma.engine.internal.transport;

import java.util.ArrayDeque;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameType;
import org.agrona.DirectBuffer;

/**
 * The responder side of the wire transport: the receive window of PSNs, direct placement of WRITE and SEND data into
 * registered memory (every key checked), receives completed in message order, READ answers, ACKs and NAKs.
 *
 * <p>An ACK for in-order data waits one duty cycle: an application that answers what arrived (a ping-pong, a reply
 * to a request) posts between the cycles, and its answer then leaves in the same batch as the ACK instead of behind
 * a send of its own; both ends save a system call on the round trip. Once {@link #ACK_EVERY} packets are unacknowledged,
 * or a duplicate or a gap shows the requester is recovering, the ACK goes at once.
 */
public final class WireResponder {

    /** Unacknowledged data packets after which the ACK does not wait: keeps a bulk sender's window moving. */
    public static final int ACK_EVERY = 16;

    private final WireTransport wire;
    private final ArrayDeque<WireQp> ackDue = new ArrayDeque<>();
    private final ArrayDeque<WireQp> readsDue = new ArrayDeque<>();
    /** How long a requester is asked to wait after a receiver-not-ready. */
    private long rnrDelayNanos = 10_000;

    WireResponder(WireTransport transport) {
        this.wire = transport;
    }

    void rnrDelayNanos(long nanos) {
        rnrDelayNanos = nanos;
    }

    /**
     * Sends the acknowledgements due (those that may wait, the next time) and READ responses there is room for;
     * returns how much was done. An ACK waits only after a cycle that received data, which the agent counts as work,
     * so it does not park with one waiting.
     */
    int afterWork() {
        int work = 0;
        for (int n = ackDue.size(); n > 0; n--) {
            WireQp w = ackDue.poll();
            if (!w.endpoint().live()) {
                w.ackDequeued();
            } else if (w.ackUrgent(ACK_EVERY)) {
                w.ackDequeued();
                sendAck(w);
            } else {
                w.ackAtOnce();
                ackDue.add(w);
            }
            work++;
        }
        for (int n = readsDue.size(); n > 0; n--) {
            WireQp w = readsDue.poll();
            if (w.endpoint().live() && answerReads(w)) {
                readsDue.add(w);
            }
            work++;
        }
        return work;
    }

    void onData(WireQp w, FrameType type, int at, int psn, int flags, int firstPsn, int payload, int length) {
        WireEndpoint qp = w.endpoint();
        int d = w.distance(psn);
        if (d < 0 || (d < WireQp.WINDOW && w.seen(psn))) {
            qp.counters().increment(Counter.DUPLICATES_DROPPED);
            w.ackAtOnce();
            dueAck(w);
            return;
        }
        if (d >= WireQp.WINDOW || w.distance(firstPsn) > 0) {
            // Beyond the window, or part of a later message than the one being received: placing it now could
            // reorder writes; the requester sends it again after the earlier packets.
            qp.counters().increment(Counter.OUT_OF_WINDOW_DROPS);
            return;
        }
        DirectBuffer rx = wire.rx();
        boolean isSend = type == FrameType.SEND;
        int msn = rx.getInt(at + (isSend ? Extension.Send.MSN : Extension.Write.MSN), Frame.ORDER);
        int lastPsn = rx.getInt(at + (isSend ? Extension.Send.LAST_PSN : Extension.Write.LAST_PSN), Frame.ORDER);
        int messageLength = rx.getInt(at + (isSend ? Extension.Send.MESSAGE_LENGTH : Extension.Write.MESSAGE_LENGTH),
                Frame.ORDER);
        int imm = rx.getInt(at + (isSend ? Extension.Send.IMM : Extension.Write.IMM), Frame.ORDER);
        boolean last = (flags & Frame.FLAG_LAST) != 0;
        boolean consumesRecv = isSend || (flags & Frame.FLAG_IMM) != 0 && last;
        int k = -1;
        if (consumesRecv) {
            k = w.receiveOf(msn);
            if (k < 0 || k >= WireQp.WINDOW) {
                qp.counters().increment(Counter.OUT_OF_WINDOW_DROPS);
                return;
            }
            if (k >= qp.recvsQueued()) {
                sendNak(w, psn, Extension.Nak.RECEIVER_NOT_READY);
                return;
            }
        }
        if (isSend) {
            long offset = rx.getLong(at + Extension.Send.MESSAGE_OFFSET, Frame.ORDER);
            if (!placeSend(w, k, messageLength, offset, payload, length, psn)) {
                return;
            }
        } else {
            long address = rx.getLong(at + Extension.Write.REMOTE_ADDRESS, Frame.ORDER);
            int rkey = rx.getInt(at + Extension.Write.RKEY, Frame.ORDER);
            if (!qp.openRemote(rkey, address, length, AccessFlags.REMOTE_WRITE)) {
                qp.counters().increment(Counter.PROTECTION_FAULTS);
                sendNak(w, psn, Extension.Nak.REMOTE_ACCESS);
                return;
            }
            if (!wire.placeChecked(qp, payload, length, qp.counters())) {
                return;
            }
        }
        qp.counters().add(Counter.RECV_BYTES, isSend ? length : 0);
        if (consumesRecv && last) {
            w.messageEnds(msn, lastPsn, messageLength, imm, isSend, (flags & Frame.FLAG_IMM) != 0);
        }
        w.received(psn);
        advanceExpected(w);
        if (w.distance(psn) >= 0) {
            // A gap below this packet: the bitmap tells the requester what to send again.
            w.ackAtOnce();
        }
        dueAck(w);
    }

    private boolean placeSend(WireQp w, int k, int messageLength, long offset, int payload, int length, int psn) {
        WireEndpoint qp = w.endpoint();
        WcStatus refused = qp.openRecv(k, messageLength);
        if (refused == WcStatus.LOC_LEN_ERR) {
            sendNak(w, psn, Extension.Nak.INVALID_REQUEST);
            qp.recvFailed(WcStatus.LOC_LEN_ERR);
            return false;
        }
        if (refused != null) {
            qp.counters().increment(Counter.PROTECTION_FAULTS);
            sendNak(w, psn, Extension.Nak.REMOTE_OPERATION);
            qp.recvFailed(refused);
            return false;
        }
        if (offset < 0 || offset + length > messageLength) {
            wire.counters().increment(Counter.MALFORMED_FRAMES);
            return false;
        }
        qp.skip(offset);
        return wire.placeChecked(qp, payload, length, qp.counters());
    }

    /** Moves the expected PSN over what arrived in a row, and completes the receives of messages now complete. */
    private static void advanceExpected(WireQp w) {
        w.advanceExpected();
        WireEndpoint qp = w.endpoint();
        while (w.messageComplete() && qp.recvsQueued() > 0) {
            int slot = w.takeMessage();
            boolean withImm = w.messageWithImm(slot);
            WcOpcode opcode = w.messageIsWrite(slot) ? WcOpcode.RECV_RDMA_WITH_IMM : WcOpcode.RECV;
            qp.recvDone(opcode, w.messageLength(slot), withImm, withImm ? w.messageImm(slot) : 0);
        }
    }

    void onReadRequest(WireQp w, int at, int psn, int count) {
        WireEndpoint qp = w.endpoint();
        int d = w.distance(psn);
        if (d > 0) {
            qp.counters().increment(Counter.OUT_OF_WINDOW_DROPS);
            return;
        }
        if (d < -WireQp.WINDOW || count < 1 || count > WireQp.READ_CHUNK_PACKETS) {
            wire.counters().increment(Counter.MALFORMED_FRAMES);
            return;
        }
        DirectBuffer rx = wire.rx();
        long address = rx.getLong(at + Extension.ReadRequest.REMOTE_ADDRESS, Frame.ORDER);
        int rkey = rx.getInt(at + Extension.ReadRequest.RKEY, Frame.ORDER);
        int length = rx.getInt(at + Extension.ReadRequest.LENGTH, Frame.ORDER);
        int segment = rx.getInt(at + Extension.ReadRequest.SEGMENT, Frame.ORDER);
        long readOffset = rx.getInt(at + Extension.ReadRequest.READ_OFFSET, Frame.ORDER) & 0xFFFF_FFFFL;
        if (length < 0 || segment < 1 || WireTransport.packets(length, segment) != count
                || segment > wire.payloadRoom(FrameType.READ_RESPONSE)) {
            wire.counters().increment(Counter.MALFORMED_FRAMES);
            return;
        }
        if (!qp.openRemote(rkey, address, length, AccessFlags.REMOTE_READ)) {
            qp.counters().increment(Counter.PROTECTION_FAULTS);
            sendNak(w, psn, Extension.Nak.REMOTE_ACCESS);
            return;
        }
        WireQp.ReadJobs reads = w.reads();
        if (!reads.add(psn, rkey, address, length, segment, readOffset)) {
            return;
        }
        if (d == 0) {
            w.readAccepted(count);
            advanceExpected(w);
        }
        if (reads.size() == 1) {
            readsDue.add(w);
        }
    }

    /**
     * Sends READ responses of the oldest jobs; true when some remain. A job whose region went away (its key no longer
     * names memory this queue pair may read) is dropped.
     */
    private boolean answerReads(WireQp w) {
        WireQp.ReadJobs jobs = w.reads();
        WireEndpoint qp = w.endpoint();
        Peer peer = wire.peers().get(qp.remote().node());
        while (jobs.size() > 0 && peer != null) {
            int n = jobs.nextLength();
            if (!qp.openRemote(jobs.rkey(), jobs.nextAddress(), n, AccessFlags.REMOTE_READ)) {
                jobs.removeHead();
                continue;
            }
            FrameType type = FrameType.READ_RESPONSE;
            int at = wire.begin(peer, type.headerLength(), n);
            if (at < 0) {
                return true;
            }
            Frame.writeBase(wire.tx(), at, type, 0, wire.nodeId(), peer.node(), qp.pkey(), n, qp.remote().qpn(),
                    qp.address().qpn(), jobs.nextPsn(), 0);
            wire.tx().putLong(at + Extension.ReadResponse.READ_OFFSET, jobs.nextReadOffset(), Frame.ORDER);
            wire.sealPayloadFrom(qp, peer, at, type.headerLength(), n);
            jobs.answered(n);
        }
        return false;
    }

    private void dueAck(WireQp w) {
        if (w.queueAck()) {
            ackDue.add(w);
        }
    }

    private void sendAck(WireQp w) {
        WireEndpoint qp = w.endpoint();
        Peer peer = wire.peers().get(qp.remote().node());
        if (peer == null) {
            return;
        }
        FrameType type = FrameType.ACK;
        int at = wire.begin(peer, type.headerLength(), 0);
        if (at < 0) {
            dueAck(w);
            return;
        }
        boolean pressure = wire.underPressure();
        Frame.writeBase(wire.tx(), at, type, pressure ? Extension.Ack.FLAG_PRESSURE : 0, wire.nodeId(), peer.node(),
                qp.pkey(), 0, qp.remote().qpn(), qp.address().qpn(), 0, w.expectedPsn());
        wire.tx().putLong(at + Extension.Ack.SACK, w.sackBitmap(), Frame.ORDER);
        wire.end(peer, at, type.headerLength(), 0);
        w.acked();
        qp.counters().increment(Counter.ACKS_SENT);
        if (pressure) {
            wire.counters().increment(Counter.PRESSURE_ACKS_SENT);
        }
    }

    private void sendNak(WireQp w, int psn, int code) {
        WireEndpoint qp = w.endpoint();
        Peer peer = wire.peers().get(qp.remote().node());
        FrameType type = FrameType.NAK;
        int at = peer == null ? -1 : wire.begin(peer, type.headerLength(), 0);
        if (at < 0) {
            return;
        }
        Frame.writeBase(wire.tx(), at, type, 0, wire.nodeId(), peer.node(), qp.pkey(), 0, qp.remote().qpn(),
                qp.address().qpn(), 0, psn);
        wire.tx().putInt(at + Extension.Nak.CODE, code, Frame.ORDER);
        wire.tx().putInt(at + Extension.Nak.RNR_DELAY_MICROS, (int) Math.max(1, rnrDelayNanos / 1000), Frame.ORDER);
        wire.end(peer, at, type.headerLength(), 0);
        qp.counters().increment(Counter.NAKS_SENT);
    }
}
