package io.vmrdma.engine.internal.transport;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameType;
import org.agrona.MutableDirectBuffer;

/**
 * The requester side of the wire transport: segmentation, the window of PSNs in flight, retransmission from
 * measured round trips, acknowledgements, NAKs and READ responses, and completing requests in order.
 */
public final class WireRequester {

    /**
     * Longest receiver-not-ready wait a responder may ask for: 10,000 times what this engine asks (10 µs), a fifth of
     * InfiniBand's largest RNR timer (491.52 ms). A receive is posted in microseconds to milliseconds; a longer wait
     * only stalls the queue pair, which is all a forged NAK could want.
     */
    public static final long MAX_RNR_DELAY_NANOS = 100_000_000L;

    private final WireTransport wire;
    /** Payload bytes of new data put on the wire, ever: the send scheduler charges turns by the difference. */
    private long bytesSent;

    WireRequester(WireTransport transport) {
        this.wire = transport;
    }

    long bytesSent() {
        return bytesSent;
    }

    /**
     * A turn of a queue pair whose peer is remote: retransmit what timed out or was reported missing, then put new
     * packets on the wire while the window has room, up to {@code budget} payload bytes.
     */
    int turn(WireEndpoint qp, long budget, long nowNanos) {
        WireQp w = qp.wire();
        if (wire.port() == null) {
            return 0;
        }
        w.followPort(wire.portEpoch(), nowNanos);
        Peer peer = wire.peers().get(qp.remote().node());
        if (peer == null) {
            failHead(w, WcStatus.RETRY_EXC_ERR);
            return 1;
        }
        int work = 0;
        if (w.waitsForReceiver(nowNanos)) {
            return 0;
        }
        if (w.resendPending()) {
            w.resendTaken();
            int from = w.resendFrom();
            int to = w.resendEnd();
            if (from - to < 0) {
                work += retransmit(w, peer, from, to, budget);
            }
        }
        if (w.hasOutstanding() && w.timedOut(nowNanos)) {
            if (!w.timeout(qp.retryCount())) {
                failHead(w, WcStatus.RETRY_EXC_ERR);
                return 1;
            }
            peer.congestion().onLoss(nowNanos);
            w.presumeLost(w.basePsn(), w.nextPsn(), nowNanos);
            work += retransmit(w, peer, w.basePsn(), w.nextPsn(), budget);
        }
        if (w.resendPending()) {
            // Holes first: new data would take the room in the window the resends wait for.
            return work;
        }
        long sent = 0;
        while (sent < budget && qp.live() && qp.state() == QpState.RTS) {
            int k = w.emitting();
            if (k >= qp.sendsQueued()) {
                break;
            }
            int bytes = emitNext(w, peer, k);
            if (bytes < 0) {
                break;
            }
            sent += Math.max(bytes, 1);
            work++;
        }
        return work;
    }

    /**
     * Puts the next packet of request {@code k} on the wire.
     *
     * @return payload bytes sent, or -1 when nothing can be sent now (window full, port full, waiting on a READ)
     */
    private int emitNext(WireQp w, Peer peer, int k) {
        WireEndpoint qp = w.endpoint();
        Opcode opcode = qp.sendOpcode(k);
        if (!w.started(k)) {
            if (k > 0 && readOutstanding(qp, k)) {
                return -1;
            }
            WcStatus local = qp.checkSend(k);
            if (local != null) {
                if (local == WcStatus.LOC_PROT_ERR) {
                    qp.counters().increment(Counter.PROTECTION_FAULTS);
                }
                if (k == 0) {
                    failHead(w, local);
                    return 0;
                }
                return -1;
            }
            long total = qp.sendLength(k);
            int segment = wire.payloadRoom(opcode == Opcode.RDMA_READ ? FrameType.READ_RESPONSE
                    : opcode == Opcode.SEND || opcode == Opcode.SEND_WITH_IMM ? FrameType.SEND : FrameType.WRITE);
            w.start(k, total, segment, WireTransport.packets(total, segment), opcode.consumesRecv());
        }
        if (opcode == Opcode.RDMA_READ) {
            return emitReadRequest(w, peer, k);
        }
        int segment = w.segment(k);
        if (w.packetsInFlight() >= WireQp.windowPackets(segment)) {
            return -1;
        }
        int length = (int) Math.min(segment, w.total(k) - w.emitOffset());
        // A queue pair with nothing outstanding may always send, so no share of the peer's window is ever stuck.
        if (w.windowBytes() > 0 && peer.windowFull(length)) {
            return -1;
        }
        if (!sendData(w, peer, k, w.nextPsn(), w.emitOffset(), length)) {
            return -1;
        }
        w.sent(peer, length);
        wire.awaitsFlush(w);
        w.emitted(length, wire.now());
        return length;
    }

    /** Whether a READ before request {@code k} still waits for data: later requests wait for it (a fence). */
    private static boolean readOutstanding(WireEndpoint qp, int k) {
        for (int i = 0; i < k; i++) {
            if (qp.sendOpcode(i) == Opcode.RDMA_READ) {
                return true;
            }
        }
        return false;
    }

    private int emitReadRequest(WireQp w, Peer peer, int k) {
        int segment = w.segment(k);
        long total = w.total(k);
        int totalPackets = WireTransport.packets(total, segment);
        long emitOffset = w.emitOffset();
        int requested = (int) (emitOffset == 0 ? 0 : (emitOffset + segment - 1) / segment);
        int room = WireQp.windowPackets(segment) - w.packetsInFlight();
        // The responses count against the window to the responder: the path they take is the one the window follows.
        // A queue pair with nothing in it may always ask for one packet.
        long windowRoom = Math.max(peer.windowRoom() / segment, w.windowBytes() > 0 ? 0 : 1);
        int count = (int) Math.min(Math.min(WireQp.READ_CHUNK_PACKETS, Math.min(room, windowRoom)),
                totalPackets - requested);
        if (count <= 0) {
            return -1;
        }
        long offset = (long) requested * segment;
        long bytes = Math.min((long) count * segment, total - offset);
        if (!sendReadRequest(w, peer, k, w.nextPsn(), count, offset, (int) bytes)) {
            return -1;
        }
        w.sent(peer, (int) bytes);
        wire.awaitsFlush(w);
        w.readRequested(count, offset, bytes, requested + count >= totalPackets, wire.now());
        return (int) bytes;
    }

    /**
     * Sends again every packet in {@code [fromPsn, toPsn)} that is not acknowledged. A packet presumed lost counts
     * against the peer's window again once resent, so it waits for room as new data does (a queue pair with nothing
     * in the window may always send one). What the budget, the window or a full port leaves is resent in the queue
     * pair's next turns ({@link WireQp#scheduleResend}), so a loss is repaired at the pace the window allows, not one
     * budget per timeout.
     */
    private int retransmit(WireQp w, Peer peer, int fromPsn, int toPsn, long budget) {
        int work = 0;
        long sent = 0;
        int psn = fromPsn;
        for (; psn != toPsn && sent < budget; psn++) {
            if (!w.isOutstanding(psn)) {
                continue;
            }
            if (!w.countsAgainstWindow(psn) && w.windowBytes() > 0 && peer.windowFull(w.lengthOf(psn))) {
                break;
            }
            int k = w.requestOf(psn);
            boolean ok;
            int first = psn;
            if (w.awaitsResponse(psn)) {
                int run = 1;
                long bytes = w.lengthOf(psn);
                while (psn + run != w.nextPsn() && run < WireQp.READ_CHUNK_PACKETS) {
                    int u = psn + run;
                    if (!w.isOutstanding(u) || !w.awaitsResponse(u) || !w.sameRequest(u, psn)) {
                        break;
                    }
                    bytes += w.lengthOf(u);
                    run++;
                }
                ok = sendReadRequest(w, peer, k, psn, run, w.offsetOf(psn), (int) bytes);
                if (ok) {
                    for (int i = 0; i < run; i++) {
                        w.recordResent(psn + i, wire.now());
                    }
                    psn += run - 1;
                }
            } else {
                ok = sendData(w, peer, k, psn, w.offsetOf(psn), w.lengthOf(psn));
                if (ok) {
                    w.recordResent(psn, wire.now());
                }
            }
            if (!ok) {
                break;
            }
            w.endpoint().counters().increment(Counter.RETRANSMISSIONS);
            peer.counters().increment(Counter.RETRANSMISSIONS);
            sent += w.lengthOf(first);
            work++;
        }
        if (psn != toPsn) {
            w.scheduleResend(psn, toPsn);
        }
        return work;
    }

    private boolean sendData(WireQp w, Peer peer, int k, int psn, long offset, int length) {
        WireEndpoint qp = w.endpoint();
        if (!qp.openSend(k, offset)) {
            failHead(w, WcStatus.LOC_PROT_ERR);
            return false;
        }
        Opcode opcode = qp.sendOpcode(k);
        boolean isSend = opcode == Opcode.SEND || opcode == Opcode.SEND_WITH_IMM;
        FrameType type = isSend ? FrameType.SEND : FrameType.WRITE;
        int at = wire.begin(peer, type.headerLength(), length);
        if (at < 0) {
            return false;
        }
        long total = w.total(k);
        int flags = (offset == 0 ? Frame.FLAG_FIRST : 0) | (offset + length >= total ? Frame.FLAG_LAST : 0)
                | (opcode == Opcode.SEND_WITH_IMM || opcode == Opcode.RDMA_WRITE_WITH_IMM ? Frame.FLAG_IMM : 0);
        MutableDirectBuffer tx = wire.tx();
        Frame.writeBase(tx, at, type, flags, wire.nodeId(), peer.node(), qp.pkey(), length, qp.remote().qpn(),
                qp.address().qpn(), psn, w.firstPsn(k));
        if (isSend) {
            tx.putLong(at + Extension.Send.MESSAGE_OFFSET, offset, Frame.ORDER);
            tx.putInt(at + Extension.Send.MESSAGE_LENGTH, (int) total, Frame.ORDER);
            tx.putInt(at + Extension.Send.LAST_PSN, w.lastPsn(k), Frame.ORDER);
            tx.putInt(at + Extension.Send.IMM, qp.sendImm(k), Frame.ORDER);
            tx.putInt(at + Extension.Send.MSN, w.msn(k), Frame.ORDER);
        } else {
            tx.putLong(at + Extension.Write.REMOTE_ADDRESS, qp.sendRemoteAddress(k) + offset, Frame.ORDER);
            tx.putInt(at + Extension.Write.RKEY, qp.sendRkey(k), Frame.ORDER);
            tx.putInt(at + Extension.Write.MESSAGE_LENGTH, (int) total, Frame.ORDER);
            tx.putInt(at + Extension.Write.LAST_PSN, w.lastPsn(k), Frame.ORDER);
            tx.putInt(at + Extension.Write.IMM, qp.sendImm(k), Frame.ORDER);
            tx.putInt(at + Extension.Write.MSN, w.msn(k), Frame.ORDER);
        }
        wire.sealPayloadFrom(qp, peer, at, type.headerLength(), length);
        bytesSent += length;
        return true;
    }

    private boolean sendReadRequest(WireQp w, Peer peer, int k, int psn, int count, long offset, int bytes) {
        FrameType type = FrameType.READ_REQUEST;
        int at = wire.begin(peer, type.headerLength(), 0);
        if (at < 0) {
            return false;
        }
        WireEndpoint qp = w.endpoint();
        MutableDirectBuffer tx = wire.tx();
        Frame.writeBase(tx, at, type, 0, wire.nodeId(), peer.node(), qp.pkey(), 0, qp.remote().qpn(),
                qp.address().qpn(), psn, count);
        tx.putLong(at + Extension.ReadRequest.REMOTE_ADDRESS, qp.sendRemoteAddress(k) + offset, Frame.ORDER);
        tx.putInt(at + Extension.ReadRequest.RKEY, qp.sendRkey(k), Frame.ORDER);
        tx.putInt(at + Extension.ReadRequest.LENGTH, bytes, Frame.ORDER);
        tx.putInt(at + Extension.ReadRequest.SEGMENT, w.segment(k), Frame.ORDER);
        tx.putInt(at + Extension.ReadRequest.READ_OFFSET, (int) offset, Frame.ORDER);
        wire.end(peer, at, type.headerLength(), 0);
        return true;
    }

    /** Completes the head request with {@code status} (and the queue pair goes to ERR), as verbs does. */
    private static void failHead(WireQp w, WcStatus status) {
        WireEndpoint qp = w.endpoint();
        if (qp.sendsQueued() == 0) {
            return;
        }
        w.headDone();
        qp.sendFailed(status);
    }

    /** Completes, in order, every request at the head whose packets are all acknowledged. */
    private static void completeAcknowledged(WireQp w) {
        WireEndpoint qp = w.endpoint();
        while (qp.sendsQueued() > 0 && w.emittedAhead()) {
            if (!w.started(0) || w.lastPsn(0) - w.basePsn() >= 0) {
                return;
            }
            WcStatus failure = w.failure(0);
            if (failure != null) {
                failHead(w, failure);
                return;
            }
            w.headDone();
            qp.sendDone();
        }
    }

    /** Moves the window base over acknowledged PSNs and completes what that finished. */
    private static void advanceBase(WireQp w) {
        if (w.advanceBase()) {
            completeAcknowledged(w);
        }
    }

    /**
     * An ACK from {@code peer}: every PSN before {@code cumulative} and those {@code sack} marks were received;
     * {@code pressure} when the receiver asks its senders to back off. One that acknowledges a PSN never sent is not
     * the responder's (a forgery, or a peer that lost track): dropped and counted, nothing changes. One from before
     * the window base is late and changes nothing either. The peer's congestion control learns what it released,
     * the newest round trip it measured (to when the ACK reached this host, not when this thread read it) and the
     * receiver's pressure; a hole it shows counts as a loss.
     */
    void onAck(Peer peer, WireQp w, int cumulative, long sack, boolean pressure) {
        // The PSN of the bitmap's highest bit (cumulative itself when the bitmap is empty).
        int highestMarked = cumulative + 64 - Long.numberOfLeadingZeros(sack);
        if (cumulative - w.nextPsn() > 0 || w.notSentYet(highestMarked) && sack != 0) {
            w.endpoint().counters().increment(Counter.CONTROL_FRAME_DROPS);
            return;
        }
        if (w.belowWindow(cumulative)) {
            return;
        }
        long now = wire.now();
        long arrival = wire.arrivalNanos();
        long inFlight = w.windowBytes();
        long peerInFlight = peer.windowBytes();
        for (int psn = w.basePsn(); psn != cumulative; psn++) {
            w.acknowledge(psn, arrival, now);
        }
        int highest = -1;
        for (int i = 0; i < 64 && sack != 0; i++) {
            if ((sack & (1L << i)) != 0) {
                w.acknowledge(cumulative + 1 + i, arrival, now);
                highest = i;
            }
        }
        advanceBase(w);
        peer.congestion().onAck(now, w.takeRttSample(), inFlight - w.windowBytes(), peerInFlight, pressure);
        if (highest >= 0 && w.hasOutstanding() && w.baseOlderThanRoundTrip(now)) {
            // Later packets arrived, earlier ones did not: send the holes again once per round trip, only those below
            // the highest packet the responder has (later ones may still be in flight).
            w.scheduleResend(w.basePsn(), cumulative + 1 + highest);
            w.presumeLost(w.basePsn(), cumulative + 1 + highest, now);
            peer.congestion().onLoss(now);
        }
    }

    /**
     * A NAK of {@code psn}. It must name a PSN sent and outstanding, with a code the responder could have given for
     * that request (receiver-not-ready only for a request that consumes a receive); anything else is dropped and
     * counted. A NAK from before the window base is late and changes nothing.
     */
    void onNak(WireQp w, int psn, int code, int rnrMicros) {
        WireEndpoint qp = w.endpoint();
        if (w.notSentYet(psn) || code < Extension.Nak.RECEIVER_NOT_READY || code > Extension.Nak.REMOTE_OPERATION) {
            qp.counters().increment(Counter.CONTROL_FRAME_DROPS);
            return;
        }
        if (w.belowWindow(psn)) {
            return;
        }
        int k = w.requestOf(psn);
        if (code == Extension.Nak.RECEIVER_NOT_READY) {
            if (!qp.sendOpcode(k).consumesRecv()) {
                qp.counters().increment(Counter.CONTROL_FRAME_DROPS);
                return;
            }
            qp.counters().increment(Counter.RNR_NAKS);
            if (!qp.takeRnrRetry()) {
                refuse(w, psn, k, WcStatus.RNR_RETRY_EXC_ERR);
                return;
            }
            w.receiverNotReady(wire.now() + rnrDelayNanos(rnrMicros));
            w.scheduleResend(w.firstPsn(k), w.nextPsn());
            return;
        }
        WcStatus status = switch (code) {
            case Extension.Nak.REMOTE_ACCESS -> WcStatus.REM_ACCESS_ERR;
            case Extension.Nak.INVALID_REQUEST -> WcStatus.REM_INV_REQ_ERR;
            default -> WcStatus.REM_OP_ERR;
        };
        refuse(w, psn, k, status);
    }

    /**
     * The wait a receiver-not-ready asks for (u32 microseconds), at least 1 µs and at most {@link #MAX_RNR_DELAY_NANOS}:
     * one frame must not stall a queue pair for the 71 minutes the field can say.
     */
    public static long rnrDelayNanos(int micros) {
        return Math.max(1_000L, Math.min(MAX_RNR_DELAY_NANOS, Integer.toUnsignedLong(micros) * 1_000L));
    }

    /**
     * Request {@code k} failed at the responder: requests before it still complete normally once acknowledged; when it
     * reaches the head it completes with {@code status} and the queue pair goes to ERR.
     */
    private static void refuse(WireQp w, int psn, int k, WcStatus status) {
        w.acknowledgeRequestOf(psn);
        w.refused(k, status);
        advanceBase(w);
    }

    /**
     * A READ response packet from {@code peer}. Placed where the request asked; the bytes it releases from the window
     * and its round trip (request out, response in) go to the peer's congestion control as an ACK's would: the
     * window to a responder also paces what it sends back.
     */
    void onReadResponse(Peer peer, WireQp w, int psn, long readOffset, int offset, int length) {
        WireEndpoint qp = w.endpoint();
        if (!w.inWindow(psn)) {
            wire.counters().increment(Counter.OUT_OF_WINDOW_DROPS);
            return;
        }
        if (!w.isOutstanding(psn) || !w.awaitsResponse(psn)) {
            qp.counters().increment(Counter.DUPLICATES_DROPPED);
            return;
        }
        if (w.offsetOf(psn) != readOffset || w.lengthOf(psn) != length) {
            wire.counters().increment(Counter.MALFORMED_FRAMES);
            return;
        }
        if (!qp.openSend(w.requestOf(psn), readOffset)) {
            failHead(w, WcStatus.LOC_PROT_ERR);
            return;
        }
        if (!wire.placeChecked(qp, offset, length, qp.counters())) {
            return;
        }
        long inFlight = w.windowBytes();
        long peerInFlight = peer.windowBytes();
        w.responseReceived(psn, wire.arrivalNanos(), wire.now());
        advanceBase(w);
        peer.congestion().onAck(wire.now(), w.takeRttSample(), inFlight - w.windowBytes(), peerInFlight, false);
    }

}
