package io.vmrdma.engine.internal.verbs;

import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayDeque;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Node;
import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.NicPort;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QpAttributes;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.engine.internal.status.Counters;
import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameCheck;
import io.vmrdma.engine.internal.wire.FrameType;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The reliable transport between this node and others, over whatever NIC binding is bound: segmentation to the
 * MTU, PSNs, cumulative and selective acknowledgements, retransmission on a timer from measured round trips,
 * receiver-not-ready, and validation of every frame that arrives. Runs on the data agent.
 *
 * <p>Every frame from the wire is untrusted: it is dropped and counted unless it is long enough for its type, has
 * our version, a matching CRC32C, is addressed to this node, comes from a known peer at that peer's link address,
 * names a queue pair connected to the sender in the same partition, and carries a PSN inside the window; data is
 * placed only where a key allows.
 */
final class WireTransport implements FrameHandler {

    private static final int RX_BATCH = 64;
    private static final long HELLO_INTERVAL_NANOS = 1_000_000_000L;

    private final VerbsEngine engine;
    private final int nodeId;
    private final Counters counters;
    private final FrameClaim claim = new FrameClaim();
    private final UnsafeBuffer rx = new UnsafeBuffer(0, 0);
    private final UnsafeBuffer tx = new UnsafeBuffer(0, 0);
    /** One frame check per direction: each keeps a view of the buffer it last saw, and the two see different ones. */
    private final FrameCheck rxCheck = new FrameCheck();
    private final FrameCheck txCheck = new FrameCheck();
    private final Int2ObjectHashMap<Peer> peers = new Int2ObjectHashMap<>();
    private final ArrayDeque<WireQp> ackDue = new ArrayDeque<>();
    private final ArrayDeque<WireQp> readsDue = new ArrayDeque<>();
    private final SgCursor cursor = new SgCursor();
    private final long incarnation = new SecureRandom().nextLong();
    private NicPort port;
    private int portEpoch;
    private long now;

    WireTransport(VerbsEngine engine, Counters counters) {
        this.engine = engine;
        this.nodeId = engine.nodeId();
        this.counters = counters;
    }

    /** Binds a NIC port, or none. Timers of queue pairs restart from the moment a port is back. */
    void port(NicPort newPort) {
        port = newPort;
        portEpoch++;
        for (Peer peer : peers.values()) {
            peer.nextHelloNanos = 0;
        }
    }

    NicPort port() {
        return port;
    }

    /** Adds or replaces a peer of the static peer table. */
    void peer(int node, LinkAddress address) {
        peers.put(node, new Peer(node, address, counters));
    }

    Peer peer(int node) {
        return peers.get(node);
    }

    Iterable<Peer> peers() {
        return peers.values();
    }

    // ----------------------------------------------------------------------------------------------------------
    // Duty cycle

    /** Receives a batch of frames. */
    int receive(long nowNanos) {
        now = nowNanos;
        NicPort p = port;
        return p == null ? 0 : p.poll(this, RX_BATCH);
    }

    /** After the queue pairs had their turns: acknowledgements, READ responses, hellos, then one flush. */
    int afterWork(long nowNanos) {
        now = nowNanos;
        NicPort p = port;
        if (p == null) {
            return 0;
        }
        int work = 0;
        for (int n = ackDue.size(); n > 0; n--) {
            WireQp w = ackDue.poll();
            w.ackDue = false;
            if (w.qp.live) {
                sendAck(w);
                work++;
            }
        }
        for (int n = readsDue.size(); n > 0; n--) {
            WireQp w = readsDue.poll();
            if (w.qp.live && answerReads(w)) {
                readsDue.add(w);
            }
            work++;
        }
        for (Peer peer : peers.values()) {
            if (nowNanos - peer.nextHelloNanos >= 0) {
                peer.nextHelloNanos = nowNanos + HELLO_INTERVAL_NANOS;
                sendHello(peer, FrameType.HELLO);
            }
        }
        p.flush();
        return work;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Requester

    /**
     * A turn of a queue pair whose peer is remote: retransmit what timed out or was reported missing, then put new
     * packets on the wire while the window has room, up to {@code budget} payload bytes.
     */
    int requesterTurn(Qp qp, long budget, long nowNanos) {
        now = nowNanos;
        WireQp w = qp.wire;
        if (port == null) {
            return 0;
        }
        if (w.portEpoch != portEpoch) {
            w.portEpoch = portEpoch;
            restartTimers(w);
        }
        Peer peer = peers.get(qp.remote().node());
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
            work += retransmit(w, peer, w.resendFromPsn, budget);
        }
        if (w.basePsn != w.nextPsn && timedOut(w)) {
            if (++w.timeouts > qp.retryCount) {
                failHead(w, WcStatus.RETRY_EXC_ERR);
                return 1;
            }
            w.rtoNanos = Math.min(WireQp.MAX_RTO_NANOS, w.rtoNanos * 2);
            work += retransmit(w, peer, w.basePsn, budget);
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
        return oldest != Long.MAX_VALUE && now - oldest >= w.rtoNanos;
    }

    private void restartTimers(WireQp w) {
        for (int psn = w.basePsn; psn != w.nextPsn; psn++) {
            w.slotSentAt[psn & WireQp.MASK] = now;
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
            wr.segment = payloadRoom(wr.opcode == Opcode.RDMA_READ ? FrameType.READ_RESPONSE
                    : wr.opcode == Opcode.SEND || wr.opcode == Opcode.SEND_WITH_IMM ? FrameType.SEND : FrameType.WRITE);
            wr.firstPsn = w.nextPsn;
            int packets = packets(wr.total, wr.segment);
            wr.lastPsn = wr.firstPsn + packets - 1;
            wr.msn = wr.opcode.consumesRecv() ? w.nextMsn++ : -1;
            wr.responsesReceived = 0;
            wr.started = true;
            w.emitOffset = 0;
        }
        if (wr.opcode == Opcode.RDMA_READ) {
            return emitReadRequest(w, peer, wr);
        }
        if (w.nextPsn - w.basePsn >= WireQp.WINDOW) {
            return -1;
        }
        int length = (int) Math.min(wr.segment, wr.total - w.emitOffset);
        int psn = w.nextPsn;
        if (!sendData(w, peer, wr, psn, w.emitOffset, length)) {
            return -1;
        }
        int s = psn & WireQp.MASK;
        w.slotSeq[s] = w.emitSeq;
        w.slotOffset[s] = w.emitOffset;
        w.slotLength[s] = length;
        w.slotSentAt[s] = now;
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
        int totalPackets = packets(wr.total, wr.segment);
        int requested = (int) (w.emitOffset == 0 ? 0 : (w.emitOffset + wr.segment - 1) / wr.segment);
        int count = Math.min(WireQp.READ_CHUNK_PACKETS, totalPackets - requested);
        if (w.nextPsn + count - w.basePsn > WireQp.WINDOW) {
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
            w.slotSentAt[s] = now;
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

    /** Sends again every packet from {@code fromPsn} that is not acknowledged, within the budget. */
    private int retransmit(WireQp w, Peer peer, int fromPsn, long budget) {
        int work = 0;
        long sent = 0;
        for (int psn = fromPsn; psn != w.nextPsn && sent < budget; psn++) {
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
                    int t = (psn + run) & WireQp.MASK;
                    if (w.slotState[t] != WireQp.SENT || !w.slotResponse[t] || w.slotSeq[t] != w.slotSeq[s]) {
                        break;
                    }
                    bytes += w.slotLength[t];
                    run++;
                }
                ok = sendReadRequest(w, peer, wr, psn, run, w.slotOffset[s], (int) bytes);
                if (ok) {
                    for (int i = 0; i < run; i++) {
                        int t = (psn + i) & WireQp.MASK;
                        w.slotSentAt[t] = now;
                        w.slotSends[t]++;
                    }
                    psn += run - 1;
                }
            } else {
                ok = sendData(w, peer, wr, psn, w.slotOffset[s], w.slotLength[s]);
                if (ok) {
                    w.slotSentAt[s] = now;
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
        return work;
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
        int at = begin(peer, type.headerLength() + length);
        if (at < 0) {
            return false;
        }
        int flags = (offset == 0 ? Frame.FLAG_FIRST : 0) | (offset + length >= wr.total ? Frame.FLAG_LAST : 0)
                | (wr.opcode == Opcode.SEND_WITH_IMM || wr.opcode == Opcode.RDMA_WRITE_WITH_IMM ? Frame.FLAG_IMM : 0);
        Frame.writeBase(tx, at, type, flags, nodeId, peer.node, qp.pkey(), length, qp.remote().qpn(),
                qp.address().qpn(), psn, wr.firstPsn);
        if (isSend) {
            tx.putLong(at + Extension.Send.MESSAGE_OFFSET, offset, Frame.ORDER);
            tx.putInt(at + Extension.Send.MESSAGE_LENGTH, (int) wr.total, Frame.ORDER);
            tx.putInt(at + Extension.Send.LAST_PSN, wr.lastPsn, Frame.ORDER);
            tx.putInt(at + Extension.Send.IMM, wr.imm, Frame.ORDER);
            tx.putInt(at + Extension.Send.MSN, wr.msn, Frame.ORDER);
        } else {
            tx.putLong(at + Extension.Write.REMOTE_ADDRESS, wr.remoteAddress + offset, Frame.ORDER);
            tx.putInt(at + Extension.Write.RKEY, wr.rkey, Frame.ORDER);
            tx.putInt(at + Extension.Write.MESSAGE_LENGTH, (int) wr.total, Frame.ORDER);
            tx.putInt(at + Extension.Write.LAST_PSN, wr.lastPsn, Frame.ORDER);
            tx.putInt(at + Extension.Write.IMM, wr.imm, Frame.ORDER);
            tx.putInt(at + Extension.Write.MSN, wr.msn, Frame.ORDER);
        }
        cursor.copyOut(tx, at + type.headerLength(), length);
        end(peer, at, type.headerLength() + length);
        engine.turnBytes += length;
        return true;
    }

    private boolean sendReadRequest(WireQp w, Peer peer, SendWqe wr, int psn, int count, long offset, int bytes) {
        FrameType type = FrameType.READ_REQUEST;
        int at = begin(peer, type.headerLength());
        if (at < 0) {
            return false;
        }
        Qp qp = w.qp;
        Frame.writeBase(tx, at, type, 0, nodeId, peer.node, qp.pkey(), 0, qp.remote().qpn(), qp.address().qpn(),
                psn, count);
        tx.putLong(at + Extension.ReadRequest.REMOTE_ADDRESS, wr.remoteAddress + offset, Frame.ORDER);
        tx.putInt(at + Extension.ReadRequest.RKEY, wr.rkey, Frame.ORDER);
        tx.putInt(at + Extension.ReadRequest.LENGTH, bytes, Frame.ORDER);
        tx.putInt(at + Extension.ReadRequest.SEGMENT, wr.segment, Frame.ORDER);
        tx.putInt(at + Extension.ReadRequest.READ_OFFSET, (int) offset, Frame.ORDER);
        end(peer, at, type.headerLength());
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
            w.slotState[w.basePsn & WireQp.MASK] = WireQp.FREE;
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
                w.rttSample(now - w.slotSentAt[s]);
            }
        }
    }

    private void onAck(WireQp w, Peer peer, int cumulative, long sack) {
        if (cumulative - w.basePsn < 0 || cumulative - w.nextPsn > 0) {
            return;
        }
        for (int psn = w.basePsn; psn != cumulative; psn++) {
            acknowledge(w, psn);
        }
        int highest = -1;
        for (int i = 0; i < 64 && sack != 0; i++) {
            if ((sack & (1L << i)) != 0) {
                int psn = cumulative + 1 + i;
                if (psn - w.nextPsn < 0) {
                    acknowledge(w, psn);
                    highest = i;
                }
            }
        }
        advanceBase(w);
        if (highest >= 0 && w.basePsn != w.nextPsn) {
            // Later packets arrived, earlier ones did not: send the holes again once per round trip.
            int s = w.basePsn & WireQp.MASK;
            if (w.slotState[s] == WireQp.SENT && now - w.slotSentAt[s] > Math.max(w.srttNanos, 1)) {
                w.resendFromPsn = w.basePsn;
                w.resendPending = true;
            }
        }
    }

    private void onNak(WireQp w, int psn, int code, int rnrMicros) {
        Qp qp = w.qp;
        if (psn - w.basePsn < 0 || psn - w.nextPsn >= 0) {
            return;
        }
        int s = psn & WireQp.MASK;
        SendWqe wr = qp.sq.peek((int) (w.slotSeq[s] - w.headSeq));
        if (code == Extension.Nak.RECEIVER_NOT_READY) {
            qp.counters().increment(Counter.RNR_NAKS);
            if (qp.rnrRetry != QpAttributes.INFINITE_RNR_RETRY && qp.rnrRetriesLeft-- <= 0) {
                markRequestAcked(w, wr, s);
                advanceToError(w, wr, WcStatus.RNR_RETRY_EXC_ERR);
                return;
            }
            w.rnrUntilNanos = now + Math.max(rnrMicros, 1) * 1000L;
            w.resendFromPsn = wr.firstPsn;
            w.resendPending = true;
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

    private void markRequestAcked(WireQp w, SendWqe wr, int slot) {
        long seq = w.slotSeq[slot];
        for (int psn = w.basePsn; psn != w.nextPsn; psn++) {
            int t = psn & WireQp.MASK;
            if (w.slotSeq[t] == seq) {
                w.slotState[t] = WireQp.ACKED;
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

    private void onReadResponse(WireQp w, int psn, long readOffset, int offset, int length) {
        if (psn - w.basePsn < 0 || psn - w.nextPsn >= 0) {
            counters.increment(Counter.OUT_OF_WINDOW_DROPS);
            return;
        }
        int s = psn & WireQp.MASK;
        if (w.slotState[s] != WireQp.SENT || !w.slotResponse[s]) {
            w.qp.counters().increment(Counter.DUPLICATES_DROPPED);
            return;
        }
        if (w.slotOffset[s] != readOffset || w.slotLength[s] != length) {
            counters.increment(Counter.MALFORMED_FRAMES);
            return;
        }
        SendWqe wr = w.qp.sq.peek((int) (w.slotSeq[s] - w.headSeq));
        if (!localCursor(w.qp, wr, readOffset)) {
            failHead(w, WcStatus.LOC_PROT_ERR);
            return;
        }
        cursor.copyIn(rx, offset, length);
        w.slotState[s] = WireQp.ACKED;
        if (w.slotSends[s] == 1) {
            w.rttSample(now - w.slotSentAt[s]);
        }
        wr.responsesReceived++;
        advanceBase(w);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Responder

    private void onData(WireQp w, FrameType type, int at, int psn, int flags, int firstPsn, int payload, int length) {
        Qp qp = w.qp;
        int d = psn - w.expectedPsn;
        if (d < 0 || (d < WireQp.WINDOW && w.seen(psn))) {
            qp.counters().increment(Counter.DUPLICATES_DROPPED);
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
        int msn = rx.getInt(at + (isSend ? Extension.Send.MSN : Extension.Write.MSN), Frame.ORDER);
        int lastPsn = rx.getInt(at + (isSend ? Extension.Send.LAST_PSN : Extension.Write.LAST_PSN), Frame.ORDER);
        int messageLength = rx.getInt(at + (isSend ? Extension.Send.MESSAGE_LENGTH : Extension.Write.MESSAGE_LENGTH),
                Frame.ORDER);
        int imm = rx.getInt(at + (isSend ? Extension.Send.IMM : Extension.Write.IMM), Frame.ORDER);
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
            long offset = rx.getLong(at + Extension.Send.MESSAGE_OFFSET, Frame.ORDER);
            if (!placeSend(w, recv, messageLength, offset, payload, length, psn)) {
                return;
            }
        } else {
            long address = rx.getLong(at + Extension.Write.REMOTE_ADDRESS, Frame.ORDER);
            Region region = engine.byRkey(rx.getInt(at + Extension.Write.RKEY, Frame.ORDER));
            if (region == null || !region.allows(qp.pd(), address, length, AccessFlags.REMOTE_WRITE)) {
                qp.counters().increment(Counter.PROTECTION_FAULTS);
                sendNak(w, psn, Extension.Nak.REMOTE_ACCESS);
                return;
            }
            region.memory().putBytes(region.offsetOf(address), rx, payload, length);
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
            counters.increment(Counter.MALFORMED_FRAMES);
            return false;
        }
        cursor.skip(offset);
        cursor.copyIn(rx, payload, length);
        return true;
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

    private void onReadRequest(WireQp w, int at, int psn, int count) {
        Qp qp = w.qp;
        int d = psn - w.expectedPsn;
        if (d > 0) {
            qp.counters().increment(Counter.OUT_OF_WINDOW_DROPS);
            return;
        }
        if (d < -WireQp.WINDOW || count < 1 || count > WireQp.READ_CHUNK_PACKETS) {
            counters.increment(Counter.MALFORMED_FRAMES);
            return;
        }
        long address = rx.getLong(at + Extension.ReadRequest.REMOTE_ADDRESS, Frame.ORDER);
        int rkey = rx.getInt(at + Extension.ReadRequest.RKEY, Frame.ORDER);
        int length = rx.getInt(at + Extension.ReadRequest.LENGTH, Frame.ORDER);
        int segment = rx.getInt(at + Extension.ReadRequest.SEGMENT, Frame.ORDER);
        long readOffset = rx.getInt(at + Extension.ReadRequest.READ_OFFSET, Frame.ORDER) & 0xFFFF_FFFFL;
        if (length < 0 || segment < 1 || packets(length, segment) != count
                || segment > payloadRoom(FrameType.READ_RESPONSE)) {
            counters.increment(Counter.MALFORMED_FRAMES);
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
        Peer peer = peers.get(w.qp.remote().node());
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
            int at = begin(peer, type.headerLength() + n);
            if (at < 0) {
                return true;
            }
            Frame.writeBase(tx, at, type, 0, nodeId, peer.node, w.qp.pkey(), n, w.qp.remote().qpn(),
                    w.qp.address().qpn(), jobs.psn[i] + packet, 0);
            tx.putLong(at + Extension.ReadResponse.READ_OFFSET, jobs.readOffset[i] + sent, Frame.ORDER);
            tx.putBytes(at + type.headerLength(), region.memory(), jobs.offset[i] + sent, n);
            end(peer, at, type.headerLength() + n);
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
        Peer peer = peers.get(w.qp.remote().node());
        if (peer == null) {
            return;
        }
        FrameType type = FrameType.ACK;
        int at = begin(peer, type.headerLength());
        if (at < 0) {
            dueAck(w);
            return;
        }
        Frame.writeBase(tx, at, type, 0, nodeId, peer.node, w.qp.pkey(), 0, w.qp.remote().qpn(),
                w.qp.address().qpn(), 0, w.expectedPsn);
        tx.putLong(at + Extension.Ack.SACK, w.sackBitmap(), Frame.ORDER);
        end(peer, at, type.headerLength());
        w.qp.counters().increment(Counter.ACKS_SENT);
    }

    private void sendNak(WireQp w, int psn, int code) {
        Peer peer = peers.get(w.qp.remote().node());
        FrameType type = FrameType.NAK;
        int at = peer == null ? -1 : begin(peer, type.headerLength());
        if (at < 0) {
            return;
        }
        Frame.writeBase(tx, at, type, 0, nodeId, peer.node, w.qp.pkey(), 0, w.qp.remote().qpn(),
                w.qp.address().qpn(), 0, psn);
        tx.putInt(at + Extension.Nak.CODE, code, Frame.ORDER);
        tx.putInt(at + Extension.Nak.RNR_DELAY_MICROS, (int) Math.max(1, engine.rnrDelayNanos() / 1000),
                Frame.ORDER);
        end(peer, at, type.headerLength());
        w.qp.counters().increment(Counter.NAKS_SENT);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Receive path: validation and dispatch

    @Override
    public void onFrame(ByteBuffer buffer, int offset, int length, LinkAddress source) {
        rx.wrap(buffer);
        if (length < Frame.BASE_LENGTH) {
            counters.increment(Counter.MALFORMED_FRAMES);
            return;
        }
        FrameType type = FrameType.ofCode(Frame.type(rx, offset));
        int payloadLength = Frame.payloadLength(rx, offset);
        if (type == null || length < type.headerLength() + payloadLength) {
            counters.increment(Counter.MALFORMED_FRAMES);
            return;
        }
        if (!rxCheck.verify(buffer, offset, type.headerLength() + payloadLength)) {
            counters.increment(Counter.CRC_ERRORS);
            return;
        }
        Peer peer = peers.get(Frame.srcNode(rx, offset));
        if (Frame.dstNode(rx, offset) != nodeId || peer == null || !peer.address.equals(source)) {
            counters.increment(Counter.UNKNOWN_SOURCE_DROPS);
            return;
        }
        if (type != FrameType.HELLO && type != FrameType.HELLO_REPLY && Frame.version(rx, offset) != Frame.VERSION) {
            counters.increment(Counter.MALFORMED_FRAMES);
            return;
        }
        peer.counters.increment(Counter.FRAMES_RECEIVED);
        peer.counters.add(Counter.FRAME_BYTES_RECEIVED, length);
        peer.lastHeardNanos = now;
        if (type == FrameType.HELLO || type == FrameType.HELLO_REPLY) {
            onHello(peer, type, offset);
            return;
        }
        switch (type) {
            case CM_REQUEST, CM_REPLY, CM_REJECT, DISCONNECT_REQUEST, DISCONNECT_REPLY ->
                    engine.connections().onWire(peer, type, rx, offset, payloadLength);
            default -> onQpFrame(peer, type, offset, payloadLength);
        }
    }

    private void onQpFrame(Peer peer, FrameType type, int at, int payloadLength) {
        Qp qp = engine.qpByNumber(Frame.dstQpn(rx, at));
        if (qp == null || qp.wire == null || qp.remote() == null || qp.remote().node() != peer.node
                || qp.remote().qpn() != Frame.srcQpn(rx, at) || qp.state() == QpState.ERR
                || qp.state() == QpState.RESET) {
            counters.increment(Counter.UNKNOWN_QP_DROPS);
            return;
        }
        if (Frame.pkey(rx, at) != qp.pkey() || !engine.partitions().isMember(qp.owner().name(), qp.pkey())) {
            qp.counters().increment(Counter.PARTITION_VIOLATIONS);
            return;
        }
        WireQp w = qp.wire;
        int psn = Frame.psn(rx, at);
        switch (type) {
            case WRITE, SEND -> {
                if (qp.state() == QpState.RTR || qp.state() == QpState.RTS || qp.state() == QpState.SQD) {
                    onData(w, type, at, psn, Frame.flags(rx, at), Frame.aux(rx, at), at + type.headerLength(),
                            payloadLength);
                }
            }
            case READ_REQUEST -> {
                if (qp.state() == QpState.RTR || qp.state() == QpState.RTS || qp.state() == QpState.SQD) {
                    onReadRequest(w, at, psn, Frame.aux(rx, at));
                }
            }
            case READ_RESPONSE -> onReadResponse(w, psn, rx.getLong(at + Extension.ReadResponse.READ_OFFSET,
                    Frame.ORDER), at + type.headerLength(), payloadLength);
            case ACK -> onAck(w, peer, Frame.aux(rx, at), rx.getLong(at + Extension.Ack.SACK, Frame.ORDER));
            case NAK -> {
                qp.counters().increment(Counter.NAKS_RECEIVED);
                onNak(w, Frame.aux(rx, at), rx.getInt(at + Extension.Nak.CODE, Frame.ORDER),
                        rx.getInt(at + Extension.Nak.RNR_DELAY_MICROS, Frame.ORDER));
            }
            default -> counters.increment(Counter.MALFORMED_FRAMES);
        }
    }

    private void onHello(Peer peer, FrameType type, int at) {
        int version = rx.getShort(at + Extension.Hello.PROTOCOL_VERSION, Frame.ORDER) & 0xFFFF;
        peer.version = version;
        peer.lastHeardNanos = now;
        peer.incarnation = rx.getLong(at + Extension.Hello.INCARNATION, Frame.ORDER);
        if (version != Node.PROTOCOL_VERSION) {
            if (peer.up || peer.version != version) {
                counters.increment(Counter.VERSION_MISMATCHES);
            }
            peer.up = false;
            engine.log().warn("node {} speaks vmrdma protocol {}, this node speaks {}: refusing it", peer.node,
                    version, Node.PROTOCOL_VERSION);
            return;
        }
        peer.up = true;
        if (type == FrameType.HELLO) {
            sendHello(peer, FrameType.HELLO_REPLY);
        }
    }

    private void sendHello(Peer peer, FrameType type) {
        int at = begin(peer, type.headerLength());
        if (at < 0) {
            return;
        }
        Frame.writeBase(tx, at, type, 0, nodeId, peer.node, 0, 0, 0, 0, 0, 0);
        tx.putShort(at + Extension.Hello.PROTOCOL_VERSION, (short) Node.PROTOCOL_VERSION, Frame.ORDER);
        tx.putInt(at + Extension.Hello.MTU, port.mtu(), Frame.ORDER);
        tx.putLong(at + Extension.Hello.INCARNATION, incarnation, Frame.ORDER);
        end(peer, at, type.headerLength());
    }

    // ----------------------------------------------------------------------------------------------------------
    // Frames out

    /** Payload bytes a frame of {@code type} carries at the port's MTU. */
    int payloadRoom(FrameType type) {
        return port.mtu() - type.headerLength();
    }

    static int packets(long bytes, int segment) {
        return (int) Math.max(1, (bytes + segment - 1) / segment);
    }

    /** Claims room for a frame to {@code peer}; returns its offset in {@link #tx}, or -1 when the port is full. */
    int begin(Peer peer, int frameLength) {
        NicPort p = port;
        if (p == null) {
            return -1;
        }
        if (!p.tryClaim(peer.address, frameLength, claim)) {
            p.flush();
            if (!p.tryClaim(peer.address, frameLength, claim)) {
                return -1;
            }
        }
        tx.wrap(claim.buffer());
        return claim.offset();
    }

    /** Seals and commits the claimed frame. */
    void end(Peer peer, int at, int frameLength) {
        txCheck.seal(claim.buffer(), at, frameLength);
        port.commit(claim, frameLength);
        peer.counters.increment(Counter.FRAMES_SENT);
        peer.counters.add(Counter.FRAME_BYTES_SENT, frameLength);
    }

    UnsafeBuffer tx() {
        return tx;
    }

    int nodeId() {
        return nodeId;
    }
}
