package io.vmrdma.engine.internal.verbs;

/**
 * The wire state of a queue pair whose peer is on another node: the requester's window of PSNs in flight and the
 * responder's window of PSNs received. PSNs are 32-bit and wrap; they are compared by signed difference.
 */
final class WireQp {

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

    static final byte FREE = 0;
    static final byte SENT = 1;
    static final byte ACKED = 2;

    /**
     * Above the longest a responder may take to acknowledge: its agent parks up to 1 ms when idle, and on a busy
     * host its thread may wait several more for a core. With a 1 ms floor a single guest writing across an emulated
     * 10GbE link between two 2-core hosts saw about 30,000 spurious retransmissions in 3 s; with 10 ms, none. Real
     * losses are repaired sooner, by the selective acknowledgements.
     */
    static final long MIN_RTO_NANOS = 10_000_000;
    static final long MAX_RTO_NANOS = 1_000_000_000;
    static final long INITIAL_RTO_NANOS = MIN_RTO_NANOS;

    final Qp qp;
    /**
     * The connection id both ends know (the requester's, from its CM_REQUEST): a DISCONNECT_REQUEST must carry it,
     * so that a frame naming only the two queue pair numbers cannot close the connection.
     */
    long connectionId;

    // Requester.
    int nextPsn;
    int basePsn;
    /** Sequence number of the send-queue head, and of the request being put on the wire. */
    long headSeq;
    long emitSeq;
    /** Bytes of the request being emitted that are on the wire (or requested, for a READ). */
    long emitOffset;
    int nextMsn;
    final long[] slotSeq = new long[WINDOW];
    final long[] slotOffset = new long[WINDOW];
    final int[] slotLength = new int[WINDOW];
    final long[] slotSentAt = new long[WINDOW];
    final byte[] slotState = new byte[WINDOW];
    final boolean[] slotResponse = new boolean[WINDOW];
    final short[] slotSends = new short[WINDOW];
    long srttNanos;
    long rttvarNanos;
    long rtoNanos = INITIAL_RTO_NANOS;
    int timeouts;
    long lastProgressNanos;
    long rnrUntilNanos;
    /** A resend still to do, in {@code [resendFromPsn, resendToPsn)}: what one turn's budget did not cover. */
    int resendFromPsn;
    int resendToPsn;
    boolean resendPending;
    int portEpoch;
    /** Payload bytes this queue pair has sent and not had acknowledged, as counted against {@link #windowPeer}. */
    long windowBytes;
    Peer windowPeer;

    // Responder.
    int expectedPsn;
    final long[] seen = new long[WINDOW / 64];
    int msnBase;
    final boolean[] pendingKnown = new boolean[WINDOW];
    final int[] pendingLastPsn = new int[WINDOW];
    final int[] pendingLength = new int[WINDOW];
    final int[] pendingImm = new int[WINDOW];
    final byte[] pendingKind = new byte[WINDOW];
    boolean ackDue;
    /** Data packets received since this queue pair's last ACK. */
    int unackedPackets;
    /** The due ACK waited one duty cycle already, or must not wait (a duplicate or a gap: the requester recovers). */
    boolean ackNow;
    final ReadJobs reads = new ReadJobs();

    WireQp(Qp qp, int sendPsn, int receivePsn) {
        this.qp = qp;
        this.nextPsn = sendPsn;
        this.basePsn = sendPsn;
        this.expectedPsn = receivePsn;
    }

    /** Counts {@code bytes} of new data sent to {@code peer} against its window (and this queue pair's share). */
    void sent(Peer peer, int bytes) {
        if (windowPeer != peer) {
            releaseWindow();
            windowPeer = peer;
        }
        windowBytes += bytes;
        peer.windowBytes += bytes;
    }

    /** {@code bytes} of data were acknowledged: they no longer count against the peer's window. */
    void acknowledged(int bytes) {
        if (windowPeer != null) {
            long done = Math.min(bytes, windowBytes);
            windowBytes -= done;
            windowPeer.windowBytes -= done;
        }
    }

    /** Gives back everything this queue pair counts against its peer's window: it failed, reset or was replaced. */
    void releaseWindow() {
        if (windowPeer != null) {
            windowPeer.windowBytes -= windowBytes;
        }
        windowBytes = 0;
        windowPeer = null;
    }

    boolean seen(int psn) {
        int i = psn & MASK;
        return (seen[i >>> 6] & (1L << (i & 63))) != 0;
    }

    void markSeen(int psn, boolean value) {
        int i = psn & MASK;
        if (value) {
            seen[i >>> 6] |= 1L << (i & 63);
        } else {
            seen[i >>> 6] &= ~(1L << (i & 63));
        }
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

    /** An RTT sample, Jacobson/Karels: RTO = SRTT + 4 RTTVAR, bounded. */
    void rttSample(long sampleNanos) {
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

    /** READ requests a responder still has to answer, oldest first. */
    static final class ReadJobs {
        static final int CAPACITY = 64;
        final int[] psn = new int[CAPACITY];
        final Region[] region = new Region[CAPACITY];
        final int[] offset = new int[CAPACITY];
        final int[] length = new int[CAPACITY];
        final int[] segment = new int[CAPACITY];
        final long[] readOffset = new long[CAPACITY];
        final int[] sent = new int[CAPACITY];
        int head;
        int size;

        boolean add(int firstPsn, Region r, int at, int bytes, int seg, long readAt) {
            if (size == CAPACITY) {
                return false;
            }
            int i = (head + size) % CAPACITY;
            psn[i] = firstPsn;
            region[i] = r;
            offset[i] = at;
            length[i] = bytes;
            segment[i] = seg;
            readOffset[i] = readAt;
            sent[i] = 0;
            size++;
            return true;
        }

        void removeHead() {
            region[head] = null;
            head = (head + 1) % CAPACITY;
            size--;
        }

        void clear() {
            while (size > 0) {
                removeHead();
            }
        }
    }

    /** The packets that may be outstanding at once for segments of {@code segment} bytes. */
    static int windowPackets(int segment) {
        return (int) Math.max(MIN_WINDOW_PACKETS, Math.min(WINDOW, WINDOW_BYTES / Math.max(1, segment)));
    }
}
