package io.vmrdma.engine.internal.verbs;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QpAttributes;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameType;

/**
 * The requester side of the wire transport: segmentation, the window of PSNs in flight, retransmission from
 * measured round trips, acknowledgements, NAKs and READ responses, and completing requests in order.
 */
final class WireRequester {

    /**
     * Longest receiver-not-ready wait a responder may ask for: 10,000 times what this engine asks (10 µs), a fifth of
     * InfiniBand's largest RNR timer (491.52 ms). A receive is posted in microseconds to milliseconds; a longer wait
     * only stalls the queue pair, which is all a forged NAK could want.
     */
    static final long MAX_RNR_DELAY_NANOS = 100_000_000L;

    private final WireTransport wire;
    private final VerbsEngine engine;
    private final SgCursor cursor = new SgCursor();

    WireRequester(WireTransport transport, VerbsEngine engine) {
        this.wire = transport;
        this.engine = engine;
    }


    /**
     * A turn of a queue pair whose peer is remote: retransmit what timed out or was reported missing, then put new
     * packets on the wire while the window has room, up to {@code budget} payload bytes.
     */
    int requesterTurn(Qp qp, long budget, long nowNanos) {
        wire.now(nowNanos);
        WireQp w = qp.wire;
        if (wire.port() == null) {
            return 0;
        }
        if (w.portEpoch != wire.portEpoch()) {
            w.portEpoch = wire.portEpoch();
            restartTimers(w);
        }
        Peer peer = wire.peer(qp.remote().node());
        if (peer == null) {
            failHead(w, WcStatus.RETRY_EXC_ERR);
            return 1;
        }
        int work = 0;
        if (nowNanos - w.rnrUntilNanos < 0) {
            return 0;
        }
        if (w.resendPending) {
            w.resendPending = false;
            // Acknowledgements may have moved the base past where the last turn's resend stopped.
            int from = w.resendFromPsn - w.basePsn < 0 ? w.basePsn : w.resendFromPsn;
            int to = w.resendToPsn - w.nextPsn > 0 ? w.nextPsn : w.resendToPsn;
            if (from - to < 0) {
                work += retransmit(w, peer, from, to, budget);
            }
        }
        if (w.basePsn != w.nextPsn && timedOut(w)) {
            if (++w.timeouts > qp.retryCount) {
                failHead(w, WcStatus.RETRY_EXC_ERR);
                return 1;
            }
            w.rtoNanos = Math.min(WireQp.MAX_RTO_NANOS, w.rtoNanos * 2);
            work += retransmit(w, peer, w.basePsn, w.nextPsn, budget);
        }
        long sent = 0;
        while (sent < budget && qp.live && qp.state() == QpState.RTS) {
            int k = (int) (w.emitSeq - w.headSeq);
            if (k >= qp.sq.size()) {
                break;
            }
            int bytes = emitNext(w, peer, qp.sq.peek(k), k);
            if (bytes < 0) {
                break;
            }
            sent += Math.max(bytes, 1);
            work++;
        }
        return work;
    }

    private boolean timedOut(WireQp w) {
        long oldest = Long.MAX_VALUE;
        for (int psn = w.basePsn; psn != w.nextPsn; psn++) {
            int s = psn & WireQp.MASK;
            if (w.slotState[s] == WireQp.SENT) {
                oldest = w.slotSentAt[s];
                break;
            }
        }
        return oldest != Long.MAX_VALUE && wire.now() - oldest >= w.rtoNanos;
    }

    private void restartTimers(WireQp w) {
        for (int psn = w.basePsn; psn != w.nextPsn; psn++) {
            w.slotSentAt[psn & WireQp.MASK] = wire.now();
        }
        w.timeouts = 0;
    }

    /**
     * Puts the next packet of request {@code k} on the wire.
     *
     * @return payload bytes sent, or -1 when nothing can be sent now (window full, port full, waiting on a READ)
     */
    private int emitNext(WireQp w, Peer peer, SendWqe wr, int k) {
        Qp qp = w.qp;
        if (!wr.started) {
            if (k > 0 && readOutstanding(w, k)) {
                return -1;
            }
            WcStatus local = checkLocal(qp, wr);
            if (local != null) {
                if (k == 0) {
                    failHead(w, local);
                    return 0;
                }
                return -1;
            }
            wr.total = wr.sgl.totalLength();
            wr.segment = wire.payloadRoom(wr.opcode == Opcode.RDMA_READ ? FrameType.READ_RESPONSE
                    : wr.opcode == Opcode.SEND || wr.opcode == Opcode.SEND_WITH_IMM ? FrameType.SEND : FrameType.WRITE);
            wr.firstPsn = w.nextPsn;
            int packets = WireTransport.packets(wr.total, wr.segment);
            wr.lastPsn = wr.firstPsn + packets - 1;
            wr.msn = wr.opcode.consumesRecv() ? w.nextMsn++ : -1;
            wr.responsesReceived = 0;
            wr.started = true;
            w.emitOffset = 0;
        }
        if (wr.opcode == Opcode.RDMA_READ) {
            return emitReadRequest(w, peer, wr);
        }
        if (w.nextPsn - w.basePsn >= WireQp.windowPackets(wr.segment)) {
            return -1;
        }
        int length = (int) Math.min(wr.segment, wr.total - w.emitOffset);
        // A queue pair with nothing outstanding may always send, so no share of the peer's window is ever stuck.
        if (w.windowBytes > 0 && peer.windowBytes + length > Peer.WINDOW_BYTES) {
            return -1;
        }
        int psn = w.nextPsn;
        if (!sendData(w, peer, wr, psn, w.emitOffset, length)) {
            return -1;
        }
        w.sent(peer, length);
        int s = psn & WireQp.MASK;
        w.slotSeq[s] = w.emitSeq;
        w.slotOffset[s] = w.emitOffset;
        w.slotLength[s] = length;
        w.slotSentAt[s] = wire.now();
        w.slotState[s] = WireQp.SENT;
        w.slotResponse[s] = false;
        w.slotSends[s] = 1;
        w.nextPsn++;
        w.emitOffset += length;
        if (w.emitOffset >= wr.total) {
            w.emitSeq++;
            w.emitOffset = 0;
        }
        return length;
    }

    /** Whether a READ before request {@code k} still waits for data: later requests wait for it (a fence). */
    private boolean readOutstanding(WireQp w, int k) {
        for (int i = 0; i < k; i++) {
            SendWqe earlier = w.qp.sq.peek(i);
            if (earlier.opcode == Opcode.RDMA_READ) {
                return true;
            }
        }
        return false;
    }

    private int emitReadRequest(WireQp w, Peer peer, SendWqe wr) {
        int totalPackets = WireTransport.packets(wr.total, wr.segment);
        int requested = (int) (w.emitOffset == 0 ? 0 : (w.emitOffset + wr.segment - 1) / wr.segment);
        int room = WireQp.windowPackets(wr.segment) - (w.nextPsn - w.basePsn);
        int count = Math.min(Math.min(WireQp.READ_CHUNK_PACKETS, room), totalPackets - requested);
        if (count <= 0) {
            return -1;
        }
        int psn = w.nextPsn;
        long offset = (long) requested * wr.segment;
        long bytes = Math.min((long) count * wr.segment, wr.total - offset);
        if (!sendReadRequest(w, peer, wr, psn, count, offset, (int) bytes)) {
            return -1;
        }
        for (int i = 0; i < count; i++) {
            int s = (psn + i) & WireQp.MASK;
            long at = offset + (long) i * wr.segment;
            w.slotSeq[s] = w.emitSeq;
            w.slotOffset[s] = at;
            w.slotLength[s] = (int) Math.min(wr.segment, wr.total - at);
            w.slotSentAt[s] = wire.now();
            w.slotState[s] = WireQp.SENT;
            w.slotResponse[s] = true;
            w.slotSends[s] = 1;
        }
        w.nextPsn += count;
        w.emitOffset = offset + bytes;
        if (requested + count >= totalPackets) {
            w.emitSeq++;
            w.emitOffset = 0;
        }
        return (int) bytes;
    }

    /**
     * Sends again every packet in {@code [fromPsn, toPsn)} that is not acknowledged. What the budget or a full port
     * leaves is resent in the queue pair's next turns ({@link WireQp#resendPending}), so a loss is repaired at the
     * scheduler's pace, not one budget per timeout.
     */
    private int retransmit(WireQp w, Peer peer, int fromPsn, int toPsn, long budget) {
        int work = 0;
        long sent = 0;
        int psn = fromPsn;
        for (; psn != toPsn && sent < budget; psn++) {
            int s = psn & WireQp.MASK;
            if (w.slotState[s] != WireQp.SENT) {
                continue;
            }
            SendWqe wr = w.qp.sq.peek((int) (w.slotSeq[s] - w.headSeq));
            boolean ok;
            if (w.slotResponse[s]) {
                int run = 1;
                long bytes = w.slotLength[s];
                while (psn + run != w.nextPsn && run < WireQp.READ_CHUNK_PACKETS) {
                    int u = (psn + run) & WireQp.MASK;
                    if (w.slotState[u] != WireQp.SENT || !w.slotResponse[u] || w.slotSeq[u] != w.slotSeq[s]) {
                        break;
                    }
                    bytes += w.slotLength[u];
                    run++;
                }
                ok = sendReadRequest(w, peer, wr, psn, run, w.slotOffset[s], (int) bytes);
                if (ok) {
                    for (int i = 0; i < run; i++) {
                        int u = (psn + i) & WireQp.MASK;
                        w.slotSentAt[u] = wire.now();
                        w.slotSends[u]++;
                    }
                    psn += run - 1;
                }
            } else {
                ok = sendData(w, peer, wr, psn, w.slotOffset[s], w.slotLength[s]);
                if (ok) {
                    w.slotSentAt[s] = wire.now();
                    w.slotSends[s]++;
                }
            }
            if (!ok) {
                break;
            }
            w.qp.counters().increment(Counter.RETRANSMISSIONS);
            peer.counters.increment(Counter.RETRANSMISSIONS);
            sent += w.slotLength[s];
            work++;
        }
        if (psn != toPsn) {
            scheduleResend(w, psn, toPsn);
        }
        return work;
    }

    /** Asks the queue pair's next turn to resend {@code [fromPsn, toPsn)}, joined with a resend already asked for. */
    private static void scheduleResend(WireQp w, int fromPsn, int toPsn) {
        if (w.resendPending) {
            fromPsn = w.resendFromPsn - fromPsn < 0 ? w.resendFromPsn : fromPsn;
            toPsn = w.resendToPsn - toPsn > 0 ? w.resendToPsn : toPsn;
        }
        w.resendFromPsn = fromPsn;
        w.resendToPsn = toPsn;
        w.resendPending = true;
    }

    private WcStatus checkLocal(Qp qp, SendWqe wr) {
        if (wr.sgl.totalLength() > engine.limits().maxMessageBytes()) {
            return WcStatus.LOC_LEN_ERR;
        }
        int access = wr.opcode == Opcode.RDMA_READ ? AccessFlags.LOCAL_WRITE : 0;
        for (int i = 0; i < wr.sgl.count(); i++) {
            Region region = engine.byLkey(wr.sgl.lkey(i));
            if (region == null || !region.allows(qp.pd(), wr.sgl.address(i), wr.sgl.length(i), access)) {
                qp.counters().increment(Counter.PROTECTION_FAULTS);
                return WcStatus.LOC_PROT_ERR;
            }
        }
        return null;
    }

    /** Positions {@link #cursor} at {@code offset} of a request's local buffers; false if one went away. */
    private boolean localCursor(Qp qp, SendWqe wr, long offset) {
        cursor.reset();
        int access = wr.opcode == Opcode.RDMA_READ ? AccessFlags.LOCAL_WRITE : 0;
        for (int i = 0; i < wr.sgl.count(); i++) {
            Region region = engine.byLkey(wr.sgl.lkey(i));
            if (region == null || !region.allows(qp.pd(), wr.sgl.address(i), wr.sgl.length(i), access)) {
                cursor.reset();
                return false;
            }
            cursor.add(region, region.offsetOf(wr.sgl.address(i)), wr.sgl.length(i));
        }
        cursor.skip(offset);
        return true;
    }

    private boolean sendData(WireQp w, Peer peer, SendWqe wr, int psn, long offset, int length) {
        Qp qp = w.qp;
        if (!localCursor(qp, wr, offset)) {
            failHead(w, WcStatus.LOC_PROT_ERR);
            return false;
        }
        boolean isSend = wr.opcode == Opcode.SEND || wr.opcode == Opcode.SEND_WITH_IMM;
        FrameType type = isSend ? FrameType.SEND : FrameType.WRITE;
        int at = wire.begin(peer, type.headerLength(), length);
        if (at < 0) {
            return false;
        }
        int flags = (offset == 0 ? Frame.FLAG_FIRST : 0) | (offset + length >= wr.total ? Frame.FLAG_LAST : 0)
                | (wr.opcode == Opcode.SEND_WITH_IMM || wr.opcode == Opcode.RDMA_WRITE_WITH_IMM ? Frame.FLAG_IMM : 0);
        Frame.writeBase(wire.tx(), at, type, flags, wire.nodeId(), peer.node, qp.pkey(), length, qp.remote().qpn(),
                qp.address().qpn(), psn, wr.firstPsn);
        if (isSend) {
            wire.tx().putLong(at + Extension.Send.MESSAGE_OFFSET, offset, Frame.ORDER);
            wire.tx().putInt(at + Extension.Send.MESSAGE_LENGTH, (int) wr.total, Frame.ORDER);
            wire.tx().putInt(at + Extension.Send.LAST_PSN, wr.lastPsn, Frame.ORDER);
            wire.tx().putInt(at + Extension.Send.IMM, wr.imm, Frame.ORDER);
            wire.tx().putInt(at + Extension.Send.MSN, wr.msn, Frame.ORDER);
        } else {
            wire.tx().putLong(at + Extension.Write.REMOTE_ADDRESS, wr.remoteAddress + offset, Frame.ORDER);
            wire.tx().putInt(at + Extension.Write.RKEY, wr.rkey, Frame.ORDER);
            wire.tx().putInt(at + Extension.Write.MESSAGE_LENGTH, (int) wr.total, Frame.ORDER);
            wire.tx().putInt(at + Extension.Write.LAST_PSN, wr.lastPsn, Frame.ORDER);
            wire.tx().putInt(at + Extension.Write.IMM, wr.imm, Frame.ORDER);
            wire.tx().putInt(at + Extension.Write.MSN, wr.msn, Frame.ORDER);
        }
        wire.copyOutSealed(cursor, at, type.headerLength(), length);
        wire.endSealed(peer, at, type.headerLength(), length);
        engine.turnBytes += length;
        return true;
    }

    private boolean sendReadRequest(WireQp w, Peer peer, SendWqe wr, int psn, int count, long offset, int bytes) {
        FrameType type = FrameType.READ_REQUEST;
        int at = wire.begin(peer, type.headerLength(), 0);
        if (at < 0) {
            return false;
        }
        Qp qp = w.qp;
        Frame.writeBase(wire.tx(), at, type, 0, wire.nodeId(), peer.node, qp.pkey(), 0, qp.remote().qpn(), qp.address().qpn(),
                psn, count);
        wire.tx().putLong(at + Extension.ReadRequest.REMOTE_ADDRESS, wr.remoteAddress + offset, Frame.ORDER);
        wire.tx().putInt(at + Extension.ReadRequest.RKEY, wr.rkey, Frame.ORDER);
        wire.tx().putInt(at + Extension.ReadRequest.LENGTH, bytes, Frame.ORDER);
        wire.tx().putInt(at + Extension.ReadRequest.SEGMENT, wr.segment, Frame.ORDER);
        wire.tx().putInt(at + Extension.ReadRequest.READ_OFFSET, (int) offset, Frame.ORDER);
        wire.end(peer, at, type.headerLength(), 0);
        return true;
    }

    /** Completes the head request with {@code status} (and the queue pair goes to ERR), as verbs does. */
    private void failHead(WireQp w, WcStatus status) {
        Qp qp = w.qp;
        if (qp.sq.isEmpty()) {
            return;
        }
        SendWqe wr = qp.sq.head();
        qp.sq.removeHead();
        w.headSeq++;
        engine.complete(qp.sendCq(), qp, wr.wrId, status, WcOpcode.of(wr.opcode), 0, false, 0);
        engine.enterError(qp);
    }

    /** Completes, in order, every request at the head whose packets are all acknowledged. */
    private void completeAcknowledged(WireQp w) {
        Qp qp = w.qp;
        while (!qp.sq.isEmpty() && w.emitSeq > w.headSeq) {
            SendWqe wr = qp.sq.head();
            if (!wr.started || wr.lastPsn - w.basePsn >= 0) {
                return;
            }
            if (wr.failure != null) {
                failHead(w, wr.failure);
                return;
            }
            qp.sq.removeHead();
            w.headSeq++;
            qp.rnrRetriesLeft = qp.rnrRetry;
            wr.started = false;
            int length = (int) wr.total;
            qp.countCompleted(wr.opcode, length);
            if (wr.signaled(qp.signalAll())) {
                engine.complete(qp.sendCq(), qp, wr.wrId, WcStatus.SUCCESS, WcOpcode.of(wr.opcode), length, false, 0);
            }
        }
    }

    /** Moves the window base over acknowledged PSNs; progress resets the retry count. */
    private void advanceBase(WireQp w) {
        boolean progress = false;
        while (w.basePsn != w.nextPsn && w.slotState[w.basePsn & WireQp.MASK] == WireQp.ACKED) {
            int s = w.basePsn & WireQp.MASK;
            w.slotState[s] = WireQp.FREE;
            if (!w.slotResponse[s]) {
                w.acknowledged(w.slotLength[s]);
            }
            w.basePsn++;
            progress = true;
        }
        if (progress) {
            w.timeouts = 0;
            w.rtoNanos = Math.max(WireQp.MIN_RTO_NANOS, w.srttNanos + 4 * w.rttvarNanos);
            completeAcknowledged(w);
        }
    }

    private void acknowledge(WireQp w, int psn) {
        int s = psn & WireQp.MASK;
        if (w.slotState[s] == WireQp.SENT && !w.slotResponse[s]) {
            w.slotState[s] = WireQp.ACKED;
            if (w.slotSends[s] == 1) {
                w.rttSample(wire.now() - w.slotSentAt[s]);
            }
        }
    }

    /**
     * An ACK: every PSN before {@code cumulative} and those {@code sack} marks were received. One that acknowledges a
     * PSN never sent is not the responder's (a forgery, or a peer that lost track): dropped and counted, nothing
     * changes. One from before the window base is late and changes nothing either.
     */
    void onAck(WireQp w, Peer peer, int cumulative, long sack) {
        // The PSN of the bitmap's highest bit (cumulative itself when the bitmap is empty).
        int highestMarked = cumulative + 64 - Long.numberOfLeadingZeros(sack);
        if (cumulative - w.nextPsn > 0 || highestMarked - w.nextPsn >= 0 && sack != 0) {
            w.qp.counters().increment(Counter.CONTROL_FRAME_DROPS);
            return;
        }
        if (cumulative - w.basePsn < 0) {
            return;
        }
        for (int psn = w.basePsn; psn != cumulative; psn++) {
            acknowledge(w, psn);
        }
        int highest = -1;
        for (int i = 0; i < 64 && sack != 0; i++) {
            if ((sack & (1L << i)) != 0) {
                acknowledge(w, cumulative + 1 + i);
                highest = i;
            }
        }
        advanceBase(w);
        if (highest >= 0 && w.basePsn != w.nextPsn) {
            // Later packets arrived, earlier ones did not: send the holes again once per round trip.
            int s = w.basePsn & WireQp.MASK;
            if (w.slotState[s] == WireQp.SENT && wire.now() - w.slotSentAt[s] > Math.max(w.srttNanos, 1)) {
                // Only the holes below the highest packet the responder has: later ones may still be in flight.
                scheduleResend(w, w.basePsn, cumulative + 1 + highest);
            }
        }
    }

    /**
     * A NAK of {@code psn}. It must name a PSN sent and outstanding, with a code the responder could have given for
     * that request (receiver-not-ready only for a request that consumes a receive); anything else is dropped and
     * counted. A NAK from before the window base is late and changes nothing.
     */
    void onNak(WireQp w, int psn, int code, int rnrMicros) {
        Qp qp = w.qp;
        if (psn - w.nextPsn >= 0 || code < Extension.Nak.RECEIVER_NOT_READY || code > Extension.Nak.REMOTE_OPERATION) {
            qp.counters().increment(Counter.CONTROL_FRAME_DROPS);
            return;
        }
        if (psn - w.basePsn < 0) {
            return;
        }
        int s = psn & WireQp.MASK;
        SendWqe wr = qp.sq.peek((int) (w.slotSeq[s] - w.headSeq));
        if (code == Extension.Nak.RECEIVER_NOT_READY) {
            if (!wr.opcode.consumesRecv()) {
                qp.counters().increment(Counter.CONTROL_FRAME_DROPS);
                return;
            }
            qp.counters().increment(Counter.RNR_NAKS);
            if (qp.rnrRetry != QpAttributes.INFINITE_RNR_RETRY && qp.rnrRetriesLeft-- <= 0) {
                markRequestAcked(w, wr, s);
                advanceToError(w, wr, WcStatus.RNR_RETRY_EXC_ERR);
                return;
            }
            w.rnrUntilNanos = wire.now() + rnrDelayNanos(rnrMicros);
            scheduleResend(w, wr.firstPsn, w.nextPsn);
            return;
        }
        WcStatus status = switch (code) {
            case Extension.Nak.REMOTE_ACCESS -> WcStatus.REM_ACCESS_ERR;
            case Extension.Nak.INVALID_REQUEST -> WcStatus.REM_INV_REQ_ERR;
            default -> WcStatus.REM_OP_ERR;
        };
        markRequestAcked(w, wr, s);
        advanceToError(w, wr, status);
    }

    /**
     * The wait a receiver-not-ready asks for (u32 microseconds), at least 1 µs and at most {@link #MAX_RNR_DELAY_NANOS}:
     * one frame must not stall a queue pair for the 71 minutes the field can say.
     */
    static long rnrDelayNanos(int micros) {
        return Math.max(1_000L, Math.min(MAX_RNR_DELAY_NANOS, Integer.toUnsignedLong(micros) * 1_000L));
    }

    private void markRequestAcked(WireQp w, SendWqe wr, int slot) {
        long seq = w.slotSeq[slot];
        for (int psn = w.basePsn; psn != w.nextPsn; psn++) {
            int u = psn & WireQp.MASK;
            if (w.slotSeq[u] == seq) {
                w.slotState[u] = WireQp.ACKED;
            }
        }
    }

    /**
     * A request failed at the responder: requests before it still complete normally once acknowledged; when it
     * reaches the head it completes with {@code status} and the queue pair goes to ERR.
     */
    private void advanceToError(WireQp w, SendWqe failed, WcStatus status) {
        failed.failure = status;
        advanceBase(w);
    }

    void onReadResponse(WireQp w, int psn, long readOffset, int offset, int length) {
        if (psn - w.basePsn < 0 || psn - w.nextPsn >= 0) {
            wire.counters().increment(Counter.OUT_OF_WINDOW_DROPS);
            return;
        }
        int s = psn & WireQp.MASK;
        if (w.slotState[s] != WireQp.SENT || !w.slotResponse[s]) {
            w.qp.counters().increment(Counter.DUPLICATES_DROPPED);
            return;
        }
        if (w.slotOffset[s] != readOffset || w.slotLength[s] != length) {
            wire.counters().increment(Counter.MALFORMED_FRAMES);
            return;
        }
        SendWqe wr = w.qp.sq.peek((int) (w.slotSeq[s] - w.headSeq));
        if (!localCursor(w.qp, wr, readOffset)) {
            failHead(w, WcStatus.LOC_PROT_ERR);
            return;
        }
        if (!wire.placeChecked(cursor, offset, length, w.qp.counters())) {
            return;
        }
        w.slotState[s] = WireQp.ACKED;
        if (w.slotSends[s] == 1) {
            w.rttSample(wire.now() - w.slotSentAt[s]);
        }
        wr.responsesReceived++;
        advanceBase(w);
    }
}
