package io.vmrdma.engine.internal.transport;

import io.vmrdma.api.verbs.WcStatus;

/**
 * The wire state of a queue pair whose peer is on another node: the requester's window of PSNs in flight with the
 * wire state of each request it is sending, and the responder's window of PSNs received. PSNs are 32-bit and wrap;
 * they are compared by signed difference. Only the transport reads and writes it, through the methods below; the
 * verbs make one per connection and {@link #release()} it when the queue pair fails, resets or is reconnected.
 */
public final class WireQp {

    /** PSNs tracked in each direction: the most packets in flight, and the receive window. */
    static final int WINDOW = 1024;
    static final int MASK = WINDOW - 1;
    /** Most response packets one READ request asks for, so a big READ never fills the whole window. */
    static final int READ_CHUNK_PACKETS = 256;
    /**
     * Payload a queue pair may have unacknowledged on the wire, beyond the PSN window: a receiver's socket buffer
     * (8 MiB by default for nic.packet) must hold what several queue pairs send before it reads, or frames are lost and
     * sent again. The round trip alone needs far less, but a requester sends a turn's frames before it reads the
     * ACKs that came meanwhile: over emulated 10GbE one queue pair moved 9-12 % more with 2 MiB than with 1 MiB.
     */
    static final long WINDOW_BYTES = 2 << 20;
    /** However large the segments, this many packets may be outstanding. */
    static final int MIN_WINDOW_PACKETS = 16;

    private static final byte FREE = 0;
    private static final byte SENT = 1;
    private static final byte ACKED = 2;

    /**
     * Above the longest a responder may take to acknowledge: its agent parks up to 1 ms when idle, and on a busy
     * host its thread may wait several more for a core. With a 1 ms floor a single guest writing across an emulated
     * 10GbE link between two 2-core hosts saw about 30,000 spurious retransmissions in 3 s; with 10 ms, none. Real
     * losses are repaired sooner, by the selective acknowledgements.
     */
    static final long MIN_RTO_NANOS = 10_000_000;
    static final long MAX_RTO_NANOS = 1_000_000_000;
    static final long INITIAL_RTO_NANOS = MIN_RTO_NANOS;

    private final WireEndpoint endpoint;
    /**
     * The connection id both ends know (the requester's, from its CM_REQUEST): a DISCONNECT_REQUEST must carry it,
     * so that a frame naming only the two queue pair numbers cannot close the connection.
     */
    private long connectionId;

    // Requester: the window of PSNs in flight.
    private int nextPsn;
    private int basePsn;
    /** Sequence number of the send-queue head, and of the request being put on the wire. */
    private long headSeq;
    private long emitSeq;
    /** Bytes of the request being emitted that are on the wire (or requested, for a READ). */
    private long emitOffset;
    private int nextMsn;
    private final long[] slotSeq = new long[WINDOW];
    private final long[] slotOffset = new long[WINDOW];
    private final int[] slotLength = new int[WINDOW];
    private final long[] slotSentAt = new long[WINDOW];
    private final byte[] slotState = new byte[WINDOW];
    private final boolean[] slotResponse = new boolean[WINDOW];
    private final short[] slotSends = new short[WINDOW];
    /**
     * Whether the packet's bytes count against the peer's window now: from when it goes out until it is acknowledged
     * or presumed lost, and again from when it goes out again.
     */
    private final boolean[] slotInWindow = new boolean[WINDOW];
    /** New packets from {@link #unflushedFromPsn} on were emitted since the port's last flush. */
    private boolean awaitingFlush;
    private int unflushedFromPsn;
    private long srttNanos;
    private long rttvarNanos;
    private long rtoNanos = INITIAL_RTO_NANOS;
    /** The newest round-trip sample not yet handed to congestion control, -1 when none. */
    private long freshRttNanos = -1;
    private int timeouts;
    private long rnrUntilNanos;
    /** A resend still to do, in {@code [resendFromPsn, resendToPsn)}: what one turn's budget did not cover. */
    private int resendFromPsn;
    private int resendToPsn;
    private boolean resendPending;
    private int portEpoch;
    /** Payload bytes this queue pair has sent and not had acknowledged, as counted against {@link #windowPeer}. */
    private long windowBytes;
    private Peer windowPeer;

    // Requester: the wire state of each request in the send queue, by its sequence number.
    private final int requestMask;
    private final boolean[] requestStarted;
    private final long[] requestTotal;
    private final int[] requestSegment;
    private final int[] requestFirstPsn;
    private final int[] requestLastPsn;
    private final int[] requestMsn;
    private final WcStatus[] requestFailure;

    // Responder.
    private int expectedPsn;
    private final long[] seen = new long[WINDOW / 64];
    private int msnBase;
    private final boolean[] pendingKnown = new boolean[WINDOW];
    private final int[] pendingLastPsn = new int[WINDOW];
    private final int[] pendingLength = new int[WINDOW];
    private final int[] pendingImm = new int[WINDOW];
    private final byte[] pendingKind = new byte[WINDOW];
    private boolean ackDue;
    /** Data packets received since this queue pair's last ACK. */
    private int unackedPackets;
    /** The due ACK waited one duty cycle already, or must not wait (a duplicate or a gap: the requester recovers). */
    private boolean ackNow;
    private final ReadJobs reads = new ReadJobs();

    /**
     * @param endpoint   the queue pair
     * @param sendPsn    the PSN its first request packet carries
     * @param receivePsn the PSN its first incoming request packet must carry
     */
    public WireQp(WireEndpoint endpoint, int sendPsn, int receivePsn) {
        this.endpoint = endpoint;
        this.nextPsn = sendPsn;
        this.basePsn = sendPsn;
        this.expectedPsn = receivePsn;
        int requests = Integer.highestOneBit(Math.max(1, endpoint.sendCapacity()) * 2 - 1);
        this.requestMask = requests - 1;
        this.requestStarted = new boolean[requests];
        this.requestTotal = new long[requests];
        this.requestSegment = new int[requests];
        this.requestFirstPsn = new int[requests];
        this.requestLastPsn = new int[requests];
        this.requestMsn = new int[requests];
        this.requestFailure = new WcStatus[requests];
    }

    WireEndpoint endpoint() {
        return endpoint;
    }

    /** The connection id both ends know, 0 until the connection manager set it. */
    public long connectionId() {
        return connectionId;
    }

    public void connectionId(long id) {
        connectionId = id;
    }

    /**
     * The queue pair failed, was reset or reconnected: READ requests it still had to answer are dropped and what it
     * counted against its peer's window is given back.
     */
    public void release() {
        reads.clear();
        releaseWindow();
    }

    // ----------------------------------------------------------------------------------------------------------
    // Requester: the window

    /** The PSN the next new packet gets. */
    public int nextPsn() {
        return nextPsn;
    }

    /** The oldest PSN not acknowledged (the window base); {@link #nextPsn()} when none is outstanding. */
    public int basePsn() {
        return basePsn;
    }

    /** Until when a receiver-not-ready keeps this queue pair from sending. */
    public long rnrUntilNanos() {
        return rnrUntilNanos;
    }

    boolean waitsForReceiver(long nowNanos) {
        return nowNanos - rnrUntilNanos < 0;
    }

    void receiverNotReady(long untilNanos) {
        rnrUntilNanos = untilNanos;
    }

    boolean hasOutstanding() {
        return basePsn != nextPsn;
    }

    int packetsInFlight() {
        return nextPsn - basePsn;
    }

    /** Whether {@code psn} was sent (it is before {@link #nextPsn()}) and is not below the window base. */
    boolean inWindow(int psn) {
        return psn - basePsn >= 0 && psn - nextPsn < 0;
    }

    /** Whether {@code psn} is after every PSN sent. */
    boolean notSentYet(int psn) {
        return psn - nextPsn >= 0;
    }

    /** Whether {@code psn} is below the window base: acknowledged already. */
    boolean belowWindow(int psn) {
        return psn - basePsn < 0;
    }

    /** Whether the port was rebound since this queue pair last sent; if so its timers restart from {@code nowNanos}. */
    void followPort(int epoch, long nowNanos) {
        if (portEpoch != epoch) {
            portEpoch = epoch;
            for (int psn = basePsn; psn != nextPsn; psn++) {
                slotSentAt[psn & MASK] = nowNanos;
            }
            timeouts = 0;
        }
    }

    /** Whether the oldest packet still unacknowledged has waited a retransmission timeout. */
    boolean timedOut(long nowNanos) {
        for (int psn = basePsn; psn != nextPsn; psn++) {
            int s = psn & MASK;
            if (slotState[s] == SENT) {
                return nowNanos - slotSentAt[s] >= rtoNanos;
            }
        }
        return false;
    }

    /** Counts a timeout; false when it is one more than {@code retryCount} allows. Backs the timer off. */
    boolean timeout(int retryCount) {
        if (++timeouts > retryCount) {
            return false;
        }
        rtoNanos = Math.min(MAX_RTO_NANOS, rtoNanos * 2);
        return true;
    }

    /** A packet of new data or a READ request for a response packet went out as {@code psn}. */
    private void recordSent(int psn, long seq, long offset, int length, long nowNanos, boolean response) {
        int s = psn & MASK;
        slotSeq[s] = seq;
        slotOffset[s] = offset;
        slotLength[s] = length;
        slotSentAt[s] = nowNanos;
        slotState[s] = SENT;
        slotResponse[s] = response;
        slotSends[s] = 1;
        slotInWindow[s] = true;
    }

    /**
     * Whether this queue pair emitted new packets since the port's last flush (the transport stamps them in
     * {@link #flushed}); marks the next one emitted as the first of them.
     */
    boolean awaitingFlush() {
        return awaitingFlush;
    }

    private void awaitFlush() {
        if (!awaitingFlush) {
            awaitingFlush = true;
            unflushedFromPsn = nextPsn;
        }
    }

    /**
     * The port put the packets emitted since the last flush on the wire at {@code nowNanos}: their round trips start
     * then. Only packets sent once: they alone give round-trip samples.
     */
    void flushed(long nowNanos) {
        awaitingFlush = false;
        int span = nextPsn - unflushedFromPsn;
        for (int psn = unflushedFromPsn; span > 0 && span <= WINDOW && psn != nextPsn; psn++) {
            int s = psn & MASK;
            if (slotState[s] == SENT && slotSends[s] == 1) {
                slotSentAt[s] = nowNanos;
            }
        }
    }

    /** {@code psn} went out again: a packet presumed lost counts against the peer's window again. */
    void recordResent(int psn, long nowNanos) {
        int s = psn & MASK;
        slotSentAt[s] = nowNanos;
        slotSends[s]++;
        if (!slotInWindow[s]) {
            slotInWindow[s] = true;
            counted(slotLength[s]);
        }
    }

    /**
     * The packets in {@code [fromPsn, toPsn)} still unacknowledged are presumed lost (a timeout, or holes below what
     * the responder has): their bytes leave the peer's window until they go out again, so a resend waits for room as
     * new data does. Their timers restart: one that waits for room is not timed out again meanwhile.
     */
    void presumeLost(int fromPsn, int toPsn, long nowNanos) {
        for (int psn = fromPsn; psn != toPsn; psn++) {
            int s = psn & MASK;
            if (slotState[s] == SENT && slotInWindow[s]) {
                slotSentAt[s] = nowNanos;
                leaveWindow(s);
            }
        }
    }

    /** Whether {@code psn}'s bytes count against the peer's window (it is on the wire, not presumed lost). */
    boolean countsAgainstWindow(int psn) {
        return slotInWindow[psn & MASK];
    }

    boolean isOutstanding(int psn) {
        return slotState[psn & MASK] == SENT;
    }

    /** Whether {@code psn} stands for a READ response packet (not a packet of ours). */
    boolean awaitsResponse(int psn) {
        return slotResponse[psn & MASK];
    }

    /** Position in the send queue of the request {@code psn} belongs to. */
    int requestOf(int psn) {
        return (int) (slotSeq[psn & MASK] - headSeq);
    }

    boolean sameRequest(int psn, int other) {
        return slotSeq[psn & MASK] == slotSeq[other & MASK];
    }

    long offsetOf(int psn) {
        return slotOffset[psn & MASK];
    }

    int lengthOf(int psn) {
        return slotLength[psn & MASK];
    }

    long sentAt(int psn) {
        return slotSentAt[psn & MASK];
    }

    /**
     * An ACK that reached this host at {@code arrivalNanos} and was read at {@code nowNanos} covers {@code psn}: it
     * is acknowledged, and its first transmission gives a round-trip sample.
     */
    void acknowledge(int psn, long arrivalNanos, long nowNanos) {
        int s = psn & MASK;
        if (slotState[s] == SENT && !slotResponse[s]) {
            slotState[s] = ACKED;
            leaveWindow(s);
            if (slotSends[s] == 1) {
                rttSample(arrivalNanos - slotSentAt[s], nowNanos - slotSentAt[s]);
            }
        }
    }

    /** The READ response packet {@code psn}, which reached this host at {@code arrivalNanos}, was placed. */
    void responseReceived(int psn, long arrivalNanos, long nowNanos) {
        int s = psn & MASK;
        slotState[s] = ACKED;
        leaveWindow(s);
        if (slotSends[s] == 1) {
            rttSample(arrivalNanos - slotSentAt[s], nowNanos - slotSentAt[s]);
        }
    }

    /** Every packet of the request {@code psn} belongs to counts as acknowledged (the responder refused it). */
    void acknowledgeRequestOf(int psn) {
        long seq = slotSeq[psn & MASK];
        for (int p = basePsn; p != nextPsn; p++) {
            int u = p & MASK;
            if (slotSeq[u] == seq) {
                slotState[u] = ACKED;
                leaveWindow(u);
            }
        }
    }

    /**
     * Moves the window base over acknowledged PSNs, giving back what they still count against the peer's window; progress resets
     * the retry count and the timer. Returns whether the base moved.
     */
    boolean advanceBase() {
        boolean progress = false;
        while (basePsn != nextPsn && slotState[basePsn & MASK] == ACKED) {
            int s = basePsn & MASK;
            slotState[s] = FREE;
            leaveWindow(s);
            basePsn++;
            progress = true;
        }
        if (progress) {
            timeouts = 0;
            rtoNanos = Math.max(MIN_RTO_NANOS, srttNanos + 4 * rttvarNanos);
        }
        return progress;
    }

    /** Whether the packet at the window base was sent more than a round trip ago (a hole a SACK shows). */
    boolean baseOlderThanRoundTrip(long nowNanos) {
        int s = basePsn & MASK;
        return slotState[s] == SENT && nowNanos - slotSentAt[s] > Math.max(srttNanos, 1);
    }

    /** Asks the queue pair's next turn to resend {@code [fromPsn, toPsn)}, joined with a resend already asked for. */
    void scheduleResend(int fromPsn, int toPsn) {
        if (resendPending) {
            fromPsn = resendFromPsn - fromPsn < 0 ? resendFromPsn : fromPsn;
            toPsn = resendToPsn - toPsn > 0 ? resendToPsn : toPsn;
        }
        resendFromPsn = fromPsn;
        resendToPsn = toPsn;
        resendPending = true;
    }

    boolean resendPending() {
        return resendPending;
    }

    /** First PSN of the resend asked for, clipped to the window base (acknowledgements may have moved it past). */
    int resendFrom() {
        return resendFromPsn - basePsn < 0 ? basePsn : resendFromPsn;
    }

    /** End of the resend asked for, clipped to the PSNs sent. */
    int resendEnd() {
        return resendToPsn - nextPsn > 0 ? nextPsn : resendToPsn;
    }

    void resendTaken() {
        resendPending = false;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Requester: the requests

    /** Position in the send queue of the request being put on the wire. */
    int emitting() {
        return (int) (emitSeq - headSeq);
    }

    /** Whether requests before the one being emitted are on the wire and wait to be acknowledged. */
    boolean emittedAhead() {
        return emitSeq > headSeq;
    }

    long emitOffset() {
        return emitOffset;
    }

    private int request(int k) {
        return (int) (headSeq + k) & requestMask;
    }

    public boolean started(int k) {
        return requestStarted[request(k)];
    }

    /**
     * Request {@code k} passed its checks and starts: its length, payload per packet and PSNs, and a message
     * sequence number if it consumes a receive.
     */
    void start(int k, long total, int segment, int packets, boolean consumesRecv) {
        int r = request(k);
        requestTotal[r] = total;
        requestSegment[r] = segment;
        requestFirstPsn[r] = nextPsn;
        requestLastPsn[r] = nextPsn + packets - 1;
        requestMsn[r] = consumesRecv ? nextMsn++ : -1;
        requestFailure[r] = null;
        requestStarted[r] = true;
        emitOffset = 0;
    }

    public long total(int k) {
        return requestTotal[request(k)];
    }

    public int segment(int k) {
        return requestSegment[request(k)];
    }

    public int firstPsn(int k) {
        return requestFirstPsn[request(k)];
    }

    public int lastPsn(int k) {
        return requestLastPsn[request(k)];
    }

    public int msn(int k) {
        return requestMsn[request(k)];
    }

    /** The responder refused request {@code k}: it completes with {@code status} when it reaches the head. */
    void refused(int k, WcStatus status) {
        requestFailure[request(k)] = status;
    }

    public WcStatus failure(int k) {
        return requestFailure[request(k)];
    }

    /** A packet of {@code length} bytes of the request being emitted went out as the next PSN. */
    void emitted(int length, long nowNanos) {
        awaitFlush();
        int k = emitting();
        recordSent(nextPsn, emitSeq, emitOffset, length, nowNanos, false);
        nextPsn++;
        emitOffset += length;
        if (emitOffset >= total(k)) {
            emitSeq++;
            emitOffset = 0;
        }
    }

    /**
     * A READ request for {@code count} response packets of the request being emitted went out, from byte
     * {@code offset} for {@code bytes}; {@code last} when it asked for the request's last packet.
     */
    void readRequested(int count, long offset, long bytes, boolean last, long nowNanos) {
        awaitFlush();
        int segment = segment(emitting());
        long total = total(emitting());
        for (int i = 0; i < count; i++) {
            long at = offset + (long) i * segment;
            recordSent(nextPsn + i, emitSeq, at, (int) Math.min(segment, total - at), nowNanos, true);
        }
        nextPsn += count;
        emitOffset = offset + bytes;
        if (last) {
            emitSeq++;
            emitOffset = 0;
        }
    }

    /** The head request left the send queue (completed or failed). */
    void headDone() {
        requestStarted[request(0)] = false;
        requestFailure[request(0)] = null;
        headSeq++;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Requester: the peer's window of bytes

    /** Payload bytes this queue pair has sent and not had acknowledged. */
    long windowBytes() {
        return windowBytes;
    }

    /** Counts {@code bytes} of new data sent to {@code peer} against its window (and this queue pair's share). */
    void sent(Peer peer, int bytes) {
        if (windowPeer != peer) {
            releaseWindow();
            windowPeer = peer;
        }
        windowBytes += bytes;
        peer.addWindow(bytes);
    }

    /** {@code bytes} went out again: they count against the peer's window (and this queue pair's share) again. */
    private void counted(int bytes) {
        if (windowPeer != null) {
            windowBytes += bytes;
            windowPeer.addWindow(bytes);
        }
    }

    /**
     * Slot {@code s} was acknowledged (a selective acknowledgement too: bytes the responder has no longer load the
     * path, even while a hole below them holds the window base) or presumed lost: its bytes leave the peer's window.
     */
    private void leaveWindow(int s) {
        if (slotInWindow[s]) {
            slotInWindow[s] = false;
            acknowledged(slotLength[s]);
        }
    }

    /** {@code bytes} were acknowledged or presumed lost: they no longer count against the peer's window. */
    private void acknowledged(int bytes) {
        if (windowPeer != null) {
            long done = Math.min(bytes, windowBytes);
            windowBytes -= done;
            windowPeer.addWindow(-done);
        }
    }

    /** Gives back everything this queue pair counts against its peer's window: it failed, reset or was replaced. */
    private void releaseWindow() {
        if (windowPeer != null) {
            windowPeer.addWindow(-windowBytes);
        }
        windowBytes = 0;
        windowPeer = null;
    }

    /** The newest round-trip sample since the last call, or -1: for congestion control, once per ACK. */
    long takeRttSample() {
        long sample = freshRttNanos;
        freshRttNanos = -1;
        return sample;
    }

    /**
     * A round-trip sample: {@code pathNanos} to when the acknowledgement reached the host, for congestion control (at
     * least 1 ns: an arrival time from the kernel's clock may fall before the send time taken from the engine's);
     * {@code seenNanos} to when this engine read it, for the retransmission timer, Jacobson/Karels: RTO = SRTT + 4
     * RTTVAR, bounded. The timer keeps the engine's own delays: on a loaded host they decide when it notices an
     * acknowledgement, and a timer below them fires for packets that arrived.
     */
    private void rttSample(long pathNanos, long seenNanos) {
        freshRttNanos = Math.max(1, pathNanos);
        long sampleNanos = Math.max(1, seenNanos);
        if (srttNanos == 0) {
            srttNanos = sampleNanos;
            rttvarNanos = sampleNanos / 2;
        } else {
            long err = sampleNanos - srttNanos;
            srttNanos += err / 8;
            rttvarNanos += (Math.abs(err) - rttvarNanos) / 4;
        }
        rtoNanos = Math.max(MIN_RTO_NANOS, Math.min(MAX_RTO_NANOS, srttNanos + 4 * rttvarNanos));
    }

    /** The packets that may be outstanding at once for segments of {@code segment} bytes. */
    static int windowPackets(int segment) {
        return (int) Math.max(MIN_WINDOW_PACKETS, Math.min(WINDOW, WINDOW_BYTES / Math.max(1, segment)));
    }

    // ----------------------------------------------------------------------------------------------------------
    // Responder

    /** The PSN the responder expects next. */
    public int expectedPsn() {
        return expectedPsn;
    }

    /** How far {@code psn} is past the expected PSN (negative: before it). */
    int distance(int psn) {
        return psn - expectedPsn;
    }

    boolean seen(int psn) {
        int i = psn & MASK;
        return (seen[i >>> 6] & (1L << (i & 63))) != 0;
    }

    /** {@code psn} was received and placed. */
    void received(int psn) {
        int i = psn & MASK;
        seen[i >>> 6] |= 1L << (i & 63);
        unackedPackets++;
    }

    /** A READ request at the expected PSN takes {@code count} PSNs, one per response packet. */
    void readAccepted(int count) {
        expectedPsn += count;
    }

    /** Moves the expected PSN over every PSN received in a row. */
    void advanceExpected() {
        while (seen(expectedPsn)) {
            int i = expectedPsn & MASK;
            seen[i >>> 6] &= ~(1L << (i & 63));
            expectedPsn++;
        }
    }

    /** Position in the receive queue the message with sequence number {@code msn} consumes. */
    int receiveOf(int msn) {
        return msn - msnBase;
    }

    /** The last packet of message {@code msn}, which consumes a receive, was placed: what its completion says. */
    void messageEnds(int msn, int lastPsn, int length, int imm, boolean isSend, boolean withImm) {
        int slot = msn & MASK;
        pendingKnown[slot] = true;
        pendingLastPsn[slot] = lastPsn;
        pendingLength[slot] = length;
        pendingImm[slot] = imm;
        pendingKind[slot] = (byte) ((isSend ? 0 : 1) | (withImm ? 2 : 0));
    }

    /** Whether the oldest message that consumes a receive has all its packets before the expected PSN. */
    boolean messageComplete() {
        int slot = msnBase & MASK;
        return pendingKnown[slot] && pendingLastPsn[slot] - expectedPsn < 0;
    }

    /** The oldest complete message takes its receive: returns its slot for {@link #messageLength} and the rest. */
    int takeMessage() {
        int slot = msnBase & MASK;
        pendingKnown[slot] = false;
        msnBase++;
        return slot;
    }

    int messageLength(int slot) {
        return pendingLength[slot];
    }

    int messageImm(int slot) {
        return pendingImm[slot];
    }

    boolean messageWithImm(int slot) {
        return (pendingKind[slot] & 2) != 0;
    }

    boolean messageIsWrite(int slot) {
        return (pendingKind[slot] & 1) != 0;
    }

    /** The selective-acknowledgement bitmap: bit i for PSN expectedPsn + 1 + i. */
    long sackBitmap() {
        long bits = 0;
        for (int i = 0; i < 64; i++) {
            if (seen(expectedPsn + 1 + i)) {
                bits |= 1L << i;
            }
        }
        return bits;
    }

    /** Whether an ACK is queued; sets it queued, returning whether it was not before. */
    boolean queueAck() {
        if (ackDue) {
            return false;
        }
        ackDue = true;
        return true;
    }

    void ackDequeued() {
        ackDue = false;
    }

    void ackAtOnce() {
        ackNow = true;
    }

    /** Whether the queued ACK should go now: it waited a cycle already, must not wait, or many packets wait for it. */
    boolean ackUrgent(int every) {
        return ackNow || unackedPackets >= every;
    }

    /** An ACK went out. */
    void acked() {
        unackedPackets = 0;
        ackNow = false;
    }

    ReadJobs reads() {
        return reads;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Migration (docs/migration.md): a queue pair resumes on another node from its send queue and its two PSN
    // positions; whatever was in flight is sent again, and the responder drops what it had already.

    /** The message sequence number the next request that consumes a receive gets. */
    public int nextMsn() {
        return nextMsn;
    }

    /** The message sequence number of the oldest message that has not taken its receive yet. */
    public int msnBase() {
        return msnBase;
    }

    /**
     * The wire state of a queue pair that migrated here: its next packet is {@code sendPsn} (the first PSN of its head
     * request, when that one was on the wire), its responder expects {@code receivePsn}. Packets the peer had sent
     * beyond it are sent again by the peer once it learns the new location.
     */
    public static WireQp resumed(WireEndpoint endpoint, int sendPsn, int nextMsn, int receivePsn, int msnBase,
                                 long connectionId) {
        WireQp w = new WireQp(endpoint, sendPsn, receivePsn);
        w.nextMsn = nextMsn;
        w.msnBase = msnBase;
        w.connectionId = connectionId;
        return w;
    }

    /**
     * Request {@code k} of a resumed queue pair was on the wire before it moved: it is sent again with the same
     * PSNs, segments and message sequence number, so that the responder recognises every packet it already has.
     */
    public void restoreStarted(int k, long total, int segment, int firstPsn, int lastPsn, int msn, WcStatus failure) {
        int r = request(k);
        requestTotal[r] = total;
        requestSegment[r] = segment;
        requestFirstPsn[r] = firstPsn;
        requestLastPsn[r] = lastPsn;
        requestMsn[r] = msn;
        requestFailure[r] = failure;
        requestStarted[r] = true;
    }

    /**
     * The queue pair at the other end moved to another node, losing what its responder had received out of order and
     * the READ responses it still owed: every packet not acknowledged cumulatively is sent again there (a selective
     * acknowledgement from the old location no longer counts), READ requests included, and the timers start afresh.
     */
    public void followMove() {
        for (int psn = basePsn; psn != nextPsn; psn++) {
            int s = psn & MASK;
            if (slotState[s] == ACKED && !slotResponse[s]) {
                slotState[s] = SENT;
            }
        }
        if (basePsn != nextPsn) {
            scheduleResend(basePsn, nextPsn);
        }
        reads.clear();
        timeouts = 0;
        rtoNanos = INITIAL_RTO_NANOS;
        rnrUntilNanos = 0;
    }

    /** READ requests a responder still has to answer, oldest first: where, how much, and how much is sent. */
    static final class ReadJobs {
        static final int CAPACITY = 64;
        private final int[] psn = new int[CAPACITY];
        private final int[] rkey = new int[CAPACITY];
        private final long[] address = new long[CAPACITY];
        private final int[] length = new int[CAPACITY];
        private final int[] segment = new int[CAPACITY];
        private final long[] readOffset = new long[CAPACITY];
        private final int[] sent = new int[CAPACITY];
        private int head;
        private int size;

        boolean add(int firstPsn, int key, long at, int bytes, int seg, long readAt) {
            if (size == CAPACITY) {
                return false;
            }
            int i = (head + size) % CAPACITY;
            psn[i] = firstPsn;
            rkey[i] = key;
            address[i] = at;
            length[i] = bytes;
            segment[i] = seg;
            readOffset[i] = readAt;
            sent[i] = 0;
            size++;
            return true;
        }

        int size() {
            return size;
        }

        int rkey() {
            return rkey[head];
        }

        /** Remote address of the next response packet's payload. */
        long nextAddress() {
            return address[head] + sent[head];
        }

        /** Payload bytes of the next response packet. */
        int nextLength() {
            return Math.min(segment[head], length[head] - sent[head]);
        }

        /** PSN of the next response packet. */
        int nextPsn() {
            return psn[head] + sent[head] / segment[head];
        }

        /** READ offset of the next response packet's payload. */
        long nextReadOffset() {
            return readOffset[head] + sent[head];
        }

        /** The next response packet, of {@code n} bytes, went out. */
        void answered(int n) {
            sent[head] += n;
            if (sent[head] >= length[head]) {
                removeHead();
            }
            if (n == 0) {
                removeHead();
            }
        }

        void removeHead() {
            head = (head + 1) % CAPACITY;
            size--;
        }

        void clear() {
            while (size > 0) {
                removeHead();
            }
        }
    }
}
