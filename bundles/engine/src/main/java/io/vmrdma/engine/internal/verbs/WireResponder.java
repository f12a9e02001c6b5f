package io.vmrdma.engine.internal.verbs;

import java.util.ArrayDeque;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameType;

/**
 * The responder side of the wire transport: the receive window of PSNs, direct placement of WRITE and SEND data into
 * registered memory (every key checked), receives completed in message order, READ answers, ACKs and NAKs.
 *
 * <p>An ACK for in-order data waits one duty cycle: an application that answers what arrived (a ping-pong, a reply
 * to a request) posts between the cycles, and its answer then leaves in the same batch as the ACK instead of behind
 * a send of its own; both ends save a system call on the round trip. Once {@link #ACK_EVERY} packets are unacknowledged,
 * or a duplicate or a gap shows the requester is recovering, the ACK goes at once.
 */
final class WireResponder {

    /** Unacknowledged data packets after which the ACK does not wait: keeps a bulk sender's window moving. */
    static final int ACK_EVERY = 16;

    private final WireTransport wire;
    private final VerbsEngine engine;
    private final SgCursor cursor = new SgCursor();
    private final ArrayDeque<WireQp> ackDue = new ArrayDeque<>();
    private final ArrayDeque<WireQp> readsDue = new ArrayDeque<>();

    WireResponder(WireTransport transport, VerbsEngine engine) {
        this.wire = transport;
        this.engine = engine;
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
            if (!w.qp.live) {
                w.ackDue = false;
            } else if (w.ackNow || w.unackedPackets >= ACK_EVERY) {
                w.ackDue = false;
                sendAck(w);
            } else {
                w.ackNow = true;
                ackDue.add(w);
            }
            work++;
        }
        for (int n = readsDue.size(); n > 0; n--) {
            WireQp w = readsDue.poll();
            if (w.qp.live && answerReads(w)) {
                readsDue.add(w);
            }
            work++;
        }
        return work;
    }


    void onData(WireQp w, FrameType type, int at, int psn, int flags, int firstPsn, int payload, int length) {
        Qp qp = w.qp;
        int d = psn - w.expectedPsn;
        if (d < 0 || (d < WireQp.WINDOW && w.seen(psn))) {
            qp.counters().increment(Counter.DUPLICATES_DROPPED);
            w.ackNow = true;
            dueAck(w);
            return;
        }
        if (d >= WireQp.WINDOW || firstPsn - w.expectedPsn > 0) {
            // Beyond the window, or part of a later message than the one being received: placing it now could
            // reorder writes; the requester sends it again after the earlier packets.
            qp.counters().increment(Counter.OUT_OF_WINDOW_DROPS);
            return;
        }
        boolean isSend = type == FrameType.SEND;
        int msn = wire.rx().getInt(at + (isSend ? Extension.Send.MSN : Extension.Write.MSN), Frame.ORDER);
        int lastPsn = wire.rx().getInt(at + (isSend ? Extension.Send.LAST_PSN : Extension.Write.LAST_PSN), Frame.ORDER);
        int messageLength = wire.rx().getInt(at + (isSend ? Extension.Send.MESSAGE_LENGTH : Extension.Write.MESSAGE_LENGTH),
                Frame.ORDER);
        int imm = wire.rx().getInt(at + (isSend ? Extension.Send.IMM : Extension.Write.IMM), Frame.ORDER);
        boolean last = (flags & Frame.FLAG_LAST) != 0;
        boolean consumesRecv = isSend || (flags & Frame.FLAG_IMM) != 0 && last;
        RecvWqe recv = null;
        if (consumesRecv) {
            int k = msn - w.msnBase;
            if (k < 0 || k >= WireQp.WINDOW) {
                qp.counters().increment(Counter.OUT_OF_WINDOW_DROPS);
                return;
            }
            if (k >= qp.rq.size()) {
                sendNak(w, psn, Extension.Nak.RECEIVER_NOT_READY);
                return;
            }
            recv = qp.rq.peek(k);
        }
        if (isSend) {
            long offset = wire.rx().getLong(at + Extension.Send.MESSAGE_OFFSET, Frame.ORDER);
            if (!placeSend(w, recv, messageLength, offset, payload, length, psn)) {
                return;
            }
        } else {
            long address = wire.rx().getLong(at + Extension.Write.REMOTE_ADDRESS, Frame.ORDER);
            Region region = engine.byRkey(wire.rx().getInt(at + Extension.Write.RKEY, Frame.ORDER));
            if (region == null || !region.allows(qp.pd(), address, length, AccessFlags.REMOTE_WRITE)) {
                qp.counters().increment(Counter.PROTECTION_FAULTS);
                sendNak(w, psn, Extension.Nak.REMOTE_ACCESS);
                return;
            }
            if (!wire.placeChecked(region.memory(), region.offsetOf(address), payload, length, qp.counters())) {
                return;
            }
        }
        qp.counters().add(Counter.RECV_BYTES, isSend ? length : 0);
        if (consumesRecv && last) {
            int slot = msn & WireQp.MASK;
            w.pendingKnown[slot] = true;
            w.pendingLastPsn[slot] = lastPsn;
            w.pendingLength[slot] = messageLength;
            w.pendingImm[slot] = imm;
            w.pendingKind[slot] = (byte) ((isSend ? 0 : 1) | ((flags & Frame.FLAG_IMM) != 0 ? 2 : 0));
        }
        w.markSeen(psn, true);
        advanceExpected(w);
        w.unackedPackets++;
        if (w.expectedPsn - psn <= 0) {
            // A gap below this packet: the bitmap tells the requester what to send again.
            w.ackNow = true;
        }
        dueAck(w);
    }

    private boolean placeSend(WireQp w, RecvWqe recv, int messageLength, long offset, int payload, int length,
                              int psn) {
        Qp qp = w.qp;
        if (messageLength > recv.sgl.totalLength()) {
            sendNak(w, psn, Extension.Nak.INVALID_REQUEST);
            failRecv(w, WcStatus.LOC_LEN_ERR);
            return false;
        }
        cursor.reset();
        for (int i = 0; i < recv.sgl.count(); i++) {
            Region region = engine.byLkey(recv.sgl.lkey(i));
            if (region == null
                    || !region.allows(qp.pd(), recv.sgl.address(i), recv.sgl.length(i), AccessFlags.LOCAL_WRITE)) {
                qp.counters().increment(Counter.PROTECTION_FAULTS);
                sendNak(w, psn, Extension.Nak.REMOTE_OPERATION);
                failRecv(w, WcStatus.LOC_PROT_ERR);
                return false;
            }
            cursor.add(region, region.offsetOf(recv.sgl.address(i)), recv.sgl.length(i));
        }
        if (offset < 0 || offset + length > messageLength) {
            wire.counters().increment(Counter.MALFORMED_FRAMES);
            return false;
        }
        cursor.skip(offset);
        return wire.placeChecked(cursor, payload, length, qp.counters());
    }

    /** The receive at the head failed: it completes with {@code status} and the queue pair goes to ERR. */
    private void failRecv(WireQp w, WcStatus status) {
        Qp qp = w.qp;
        RecvWqe recv = qp.rq.head();
        qp.rq.removeHead();
        engine.complete(qp.recvCq(), qp, recv.wrId, status, WcOpcode.RECV, 0, false, 0);
        engine.enterError(qp);
    }

    private void advanceExpected(WireQp w) {
        while (w.seen(w.expectedPsn)) {
            w.markSeen(w.expectedPsn, false);
            w.expectedPsn++;
        }
        Qp qp = w.qp;
        while (true) {
            int slot = w.msnBase & WireQp.MASK;
            if (!w.pendingKnown[slot] || w.pendingLastPsn[slot] - w.expectedPsn >= 0 || qp.rq.isEmpty()) {
                return;
            }
            w.pendingKnown[slot] = false;
            RecvWqe recv = qp.rq.head();
            qp.rq.removeHead();
            w.msnBase++;
            int kind = w.pendingKind[slot];
            boolean withImm = (kind & 2) != 0;
            WcOpcode opcode = (kind & 1) != 0 ? WcOpcode.RECV_RDMA_WITH_IMM : WcOpcode.RECV;
            qp.counters().increment(Counter.RECV_OPS);
            engine.complete(qp.recvCq(), qp, recv.wrId, WcStatus.SUCCESS, opcode, w.pendingLength[slot], withImm,
                    withImm ? w.pendingImm[slot] : 0);
        }
    }

    void onReadRequest(WireQp w, int at, int psn, int count) {
        Qp qp = w.qp;
        int d = psn - w.expectedPsn;
        if (d > 0) {
            qp.counters().increment(Counter.OUT_OF_WINDOW_DROPS);
            return;
        }
        if (d < -WireQp.WINDOW || count < 1 || count > WireQp.READ_CHUNK_PACKETS) {
            wire.counters().increment(Counter.MALFORMED_FRAMES);
            return;
        }
        long address = wire.rx().getLong(at + Extension.ReadRequest.REMOTE_ADDRESS, Frame.ORDER);
        int rkey = wire.rx().getInt(at + Extension.ReadRequest.RKEY, Frame.ORDER);
        int length = wire.rx().getInt(at + Extension.ReadRequest.LENGTH, Frame.ORDER);
        int segment = wire.rx().getInt(at + Extension.ReadRequest.SEGMENT, Frame.ORDER);
        long readOffset = wire.rx().getInt(at + Extension.ReadRequest.READ_OFFSET, Frame.ORDER) & 0xFFFF_FFFFL;
        if (length < 0 || segment < 1 || WireTransport.packets(length, segment) != count
                || segment > wire.payloadRoom(FrameType.READ_RESPONSE)) {
            wire.counters().increment(Counter.MALFORMED_FRAMES);
            return;
        }
        Region region = engine.byRkey(rkey);
        if (region == null || !region.allows(qp.pd(), address, length, AccessFlags.REMOTE_READ)) {
            qp.counters().increment(Counter.PROTECTION_FAULTS);
            sendNak(w, psn, Extension.Nak.REMOTE_ACCESS);
            return;
        }
        if (!w.reads.add(psn, region, region.offsetOf(address), length, segment, readOffset)) {
            return;
        }
        if (d == 0) {
            w.expectedPsn += count;
            advanceExpected(w);
        }
        if (w.reads.size == 1) {
            readsDue.add(w);
        }
    }

    /** Sends READ responses of the oldest jobs; true when some remain. */
    private boolean answerReads(WireQp w) {
        WireQp.ReadJobs jobs = w.reads;
        Peer peer = wire.peer(w.qp.remote().node());
        while (jobs.size > 0 && peer != null) {
            int i = jobs.head;
            Region region = jobs.region[i];
            if (!region.isLive()) {
                jobs.removeHead();
                continue;
            }
            int sent = jobs.sent[i];
            int n = Math.min(jobs.segment[i], jobs.length[i] - sent);
            int packet = sent / jobs.segment[i];
            FrameType type = FrameType.READ_RESPONSE;
            int at = wire.begin(peer, type.headerLength(), n);
            if (at < 0) {
                return true;
            }
            Frame.writeBase(wire.tx(), at, type, 0, wire.nodeId(), peer.node, w.qp.pkey(), n, w.qp.remote().qpn(),
                    w.qp.address().qpn(), jobs.psn[i] + packet, 0);
            wire.tx().putLong(at + Extension.ReadResponse.READ_OFFSET, jobs.readOffset[i] + sent, Frame.ORDER);
            wire.copyOutSealed(region.memory(), jobs.offset[i] + sent, at, type.headerLength(), n);
            wire.endSealed(peer, at, type.headerLength(), n);
            jobs.sent[i] = sent + n;
            if (jobs.sent[i] >= jobs.length[i]) {
                jobs.removeHead();
            }
            if (n == 0) {
                jobs.removeHead();
            }
        }
        return false;
    }

    private void dueAck(WireQp w) {
        if (!w.ackDue) {
            w.ackDue = true;
            ackDue.add(w);
        }
    }

    private void sendAck(WireQp w) {
        Peer peer = wire.peer(w.qp.remote().node());
        if (peer == null) {
            return;
        }
        FrameType type = FrameType.ACK;
        int at = wire.begin(peer, type.headerLength(), 0);
        if (at < 0) {
            dueAck(w);
            return;
        }
        Frame.writeBase(wire.tx(), at, type, 0, wire.nodeId(), peer.node, w.qp.pkey(), 0, w.qp.remote().qpn(),
                w.qp.address().qpn(), 0, w.expectedPsn);
        wire.tx().putLong(at + Extension.Ack.SACK, w.sackBitmap(), Frame.ORDER);
        wire.end(peer, at, type.headerLength(), 0);
        w.unackedPackets = 0;
        w.ackNow = false;
        w.qp.counters().increment(Counter.ACKS_SENT);
    }

    private void sendNak(WireQp w, int psn, int code) {
        Peer peer = wire.peer(w.qp.remote().node());
        FrameType type = FrameType.NAK;
        int at = peer == null ? -1 : wire.begin(peer, type.headerLength(), 0);
        if (at < 0) {
            return;
        }
        Frame.writeBase(wire.tx(), at, type, 0, wire.nodeId(), peer.node, w.qp.pkey(), 0, w.qp.remote().qpn(),
                w.qp.address().qpn(), 0, psn);
        wire.tx().putInt(at + Extension.Nak.CODE, code, Frame.ORDER);
        wire.tx().putInt(at + Extension.Nak.RNR_DELAY_MICROS, (int) Math.max(1, engine.rnrDelayNanos() / 1000),
                Frame.ORDER);
        wire.end(peer, at, type.headerLength(), 0);
        w.qp.counters().increment(Counter.NAKS_SENT);
    }
}
