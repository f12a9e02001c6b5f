package io.vmrdma.api.nic;

import java.nio.ByteBuffer;

/**
 * The bookkeeping of a binding's transmit batch, for bindings that send a batch of preallocated slots per
 * {@link NicPort#flush()} (nic.udp, nic.packet): the one claim that may be outstanding, the slots
 * {@code [head, tail)} committed and not yet sent, and frames to a destination the binding cannot reach, written to a
 * discard buffer and counted instead of sent. The binding keeps the slots' memory and per-slot details (lengths,
 * destinations) and puts frames on the wire; this class keeps the order of claim, commit, abort and flush.
 *
 * <p>Used by one thread at a time, as its port. Allocates nothing after construction. Since 0.4.0 of this package.
 */
public final class TransmitBatch {

    /** Claim token of a frame written to the discard buffer and dropped. */
    private static final long DISCARD = -1;

    private final int slots;
    private final ByteBuffer discard;
    private int head;
    private int tail;
    private boolean claimed;
    private long discarded;

    /**
     * @param slots   frames a batch holds
     * @param discard where frames to unreachable destinations are written; at least an MTU long
     */
    public TransmitBatch(int slots, ByteBuffer discard) {
        if (slots <= 0) {
            throw new IllegalArgumentException("a batch of " + slots + " slots");
        }
        this.slots = slots;
        this.discard = discard;
    }

    /**
     * Checks a claim of {@code length} bytes before the binding looks at its destination.
     *
     * @throws IllegalArgumentException if {@code length} is negative or exceeds {@code mtu}
     * @throws IllegalStateException    if a frame is already claimed
     */
    public void checkClaim(int length, int mtu) {
        if (length < 0 || length > mtu) {
            throw new IllegalArgumentException("frame of " + length + " bytes does not fit MTU " + mtu);
        }
        if (claimed) {
            throw new IllegalStateException("a frame is already claimed");
        }
    }

    /** Whether every slot holds a committed frame: claims are refused until a flush sends some. */
    public boolean isFull() {
        return tail == slots;
    }

    /** The slot the next claim takes; valid while the batch is not full. */
    public int nextSlot() {
        return tail;
    }

    /** Lends the window {@code [offset, offset + length)} of {@code buffer}, the memory of slot {@link #nextSlot()}. */
    public void lend(FrameClaim claim, ByteBuffer buffer, int offset, int length) {
        claimed = true;
        claim.lend(buffer, offset, length, tail);
    }

    /** Lends a window of the discard buffer: the frame is written, committed and counted, never sent. */
    public void lendDiscard(FrameClaim claim, int length) {
        claimed = true;
        claim.lend(discard, 0, length, DISCARD);
    }

    /**
     * Takes the claimed window back, trimmed to {@code length} bytes.
     *
     * @return the slot the frame was committed to, for the binding to record its length; -1 for a discarded frame
     * @throws IllegalStateException    if no frame is claimed
     * @throws IllegalArgumentException if {@code length} is negative or exceeds the claimed length
     */
    public int commit(FrameClaim claim, int length) {
        long token = take(claim);
        int capacity = claim.capacity();
        if (length < 0 || length > capacity) {
            claim.reset();
            throw new IllegalArgumentException("committed " + length + " bytes of a " + capacity + "-byte claim");
        }
        claim.reset();
        if (token == DISCARD) {
            discarded++;
            return -1;
        }
        return tail++;
    }

    /** Takes the claimed window back unsent. */
    public void abort(FrameClaim claim) {
        take(claim);
        claim.reset();
    }

    /** The first committed frame not yet sent. */
    public int head() {
        return head;
    }

    /** How many committed frames wait to be sent. */
    public int pending() {
        return tail - head;
    }

    /** Marks the next {@code frames} pending frames as done (sent, or refused and dropped); an empty batch starts over. */
    public void advance(int frames) {
        head += frames;
        if (head >= tail) {
            head = 0;
            tail = 0;
        }
    }

    /** Forgets every pending frame, as a link that went down loses them. */
    public void dropPending() {
        head = 0;
        tail = 0;
    }

    /** Frames written to the discard buffer so far. */
    public long discarded() {
        return discarded;
    }

    private long take(FrameClaim claim) {
        if (!claimed || !claim.isLent()) {
            throw new IllegalStateException("no frame is claimed");
        }
        claimed = false;
        return claim.token();
    }
}
