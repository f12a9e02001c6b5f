package io.vmrdma.nic.faults;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.SplittableRandom;
import java.util.function.LongSupplier;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.NicPort;

/**
 * A NIC port that passes frames to and from another port, losing, duplicating, reordering, corrupting and delaying
 * them as its {@link Faults} say, per direction, from a seed. Frames it must hold (duplicates, reordered, delayed,
 * corrupted copies) go into a fixed pool of buffers, so it allocates nothing per frame; when the pool is exhausted
 * the frame passes unharmed.
 */
public final class FaultyNicPort extends ForwardingNicPort {

    private static final int POOL = 512;

    private final Faults transmit;
    private final Faults receive;
    private final SplittableRandom random;
    private final LongSupplier clock;
    private final ArrayDeque<Held> free = new ArrayDeque<>();
    private final ArrayDeque<Held> heldTx = new ArrayDeque<>();
    private final ArrayDeque<Held> heldRx = new ArrayDeque<>();
    private final FrameClaim innerClaim = new FrameClaim();
    private final Receiver receiver = new Receiver();
    private long lost;
    private long duplicated;
    private long reordered;
    private long corrupted;
    private long delayed;

    /** A frame held back, with when (or after how many other frames) it may go. */
    private static final class Held {
        final ByteBuffer bytes;
        int length;
        LinkAddress peer;
        long dueNanos;
        int dueAfterFrames;

        Held(int capacity) {
            bytes = ByteBuffer.allocateDirect(capacity);
        }
    }

    public FaultyNicPort(NicPort inner, Faults transmit, Faults receive, long seed, LongSupplier clock) {
        super(inner);
        this.transmit = transmit;
        this.receive = receive;
        this.random = new SplittableRandom(seed);
        this.clock = clock;
        for (int i = 0; i < POOL; i++) {
            free.add(new Held(NicPort.MAX_MTU));
        }
    }

    /** Frames lost, duplicated, reordered, corrupted and delayed so far, both directions. */
    public long[] injected() {
        return new long[] {lost, duplicated, reordered, corrupted, delayed};
    }

    @Override
    public String interfaceName() {
        return inner.interfaceName() + " (faults)";
    }

    // ------------------------------------------------------------------------------------------------ receive

    @Override
    public int poll(FrameHandler handler, int frameLimit) {
        receiver.handler = handler;
        receiver.delivered = 0;
        try {
            deliverHeld(handler, frameLimit, false);
            if (receiver.delivered < frameLimit) {
                inner.poll(receiver, frameLimit - receiver.delivered);
            }
            deliverHeld(handler, frameLimit, true);
            return receiver.delivered;
        } finally {
            receiver.handler = null;
        }
    }

    private void deliverHeld(FrameHandler handler, int frameLimit, boolean countFrame) {
        long now = clock.getAsLong();
        for (int n = heldRx.size(); n > 0 && receiver.delivered < frameLimit; n--) {
            Held h = heldRx.poll();
            if (countFrame && h.dueAfterFrames > 0) {
                h.dueAfterFrames--;
            }
            if (h.dueAfterFrames <= 0 && now - h.dueNanos >= 0) {
                handler.onFrame(h.bytes, 0, h.length, h.peer);
                receiver.delivered++;
                free.add(h);
            } else {
                heldRx.add(h);
            }
        }
    }

    private final class Receiver implements FrameHandler {
        FrameHandler handler;
        int delivered;

        @Override
        public void onFrame(ByteBuffer buffer, int offset, int length, LinkAddress source) {
            Faults f = receive;
            if (f.none()) {
                handler.onFrame(buffer, offset, length, source);
                delivered++;
                return;
            }
            if (chance(f.lossRate())) {
                lost++;
                return;
            }
            if (chance(f.duplicateRate())) {
                Held copy = hold(buffer, offset, length, source);
                if (copy != null) {
                    duplicated++;
                    copy.dueAfterFrames = 0;
                    heldRx.add(copy);
                }
            }
            boolean reorder = chance(f.reorderRate());
            boolean delay = chance(f.delayRate());
            boolean corrupt = chance(f.corruptRate());
            if (reorder || delay || corrupt) {
                Held h = hold(buffer, offset, length, source);
                if (h != null) {
                    if (corrupt) {
                        flipAByte(h);
                    }
                    if (reorder) {
                        reordered++;
                        h.dueAfterFrames = 1 + random.nextInt(f.reorderDepth());
                    }
                    if (delay) {
                        delayed++;
                        h.dueNanos = clock.getAsLong() + f.delayNanos();
                    }
                    if (!reorder && !delay) {
                        handler.onFrame(h.bytes, 0, h.length, h.peer);
                        delivered++;
                        free.add(h);
                    } else {
                        heldRx.add(h);
                    }
                    return;
                }
            }
            handler.onFrame(buffer, offset, length, source);
            delivered++;
        }
    }

    // ----------------------------------------------------------------------------------------------- transmit

    @Override
    public boolean tryClaim(LinkAddress destination, int length, FrameClaim claim) {
        claimedFor = destination;
        return inner.tryClaim(destination, length, claim);
    }

    @Override
    public void commit(FrameClaim claim, int length) {
        Faults f = transmit;
        if (f.none()) {
            inner.commit(claim, length);
            return;
        }
        if (chance(f.lossRate())) {
            lost++;
            inner.abort(claim);
            return;
        }
        LinkAddress destination = claimedFor;
        if (chance(f.corruptRate())) {
            corrupted++;
            int at = claim.offset() + random.nextInt(Math.max(length, 1));
            if (length > 0) {
                claim.buffer().put(at, (byte) (claim.buffer().get(at) ^ (1 << random.nextInt(8))));
            }
        }
        if (chance(f.duplicateRate()) && destination != null) {
            Held copy = hold(claim.buffer(), claim.offset(), length, destination);
            if (copy != null) {
                duplicated++;
                heldTx.add(copy);
            }
        }
        boolean reorder = chance(f.reorderRate());
        boolean delay = chance(f.delayRate());
        if ((reorder || delay) && destination != null) {
            Held h = hold(claim.buffer(), claim.offset(), length, destination);
            if (h != null) {
                if (reorder) {
                    reordered++;
                    h.dueAfterFrames = 1 + random.nextInt(f.reorderDepth());
                }
                if (delay) {
                    delayed++;
                    h.dueNanos = clock.getAsLong() + f.delayNanos();
                }
                heldTx.add(h);
                inner.abort(claim);
                return;
            }
        }
        inner.commit(claim, length);
        for (Held h : heldTx) {
            if (h.dueAfterFrames > 0) {
                h.dueAfterFrames--;
            }
        }
    }

    /** As the port it wraps: a frame in pieces passes on in pieces while no transmit fault is set. */
    @Override
    public boolean gathers() {
        return inner.gathers();
    }

    /** Passes the pieces on while no transmit fault is set; otherwise lays the frame out whole for {@link #commit}. */
    @Override
    public void commitGather(FrameClaim claim, int head, ByteBuffer payload, int payloadOffset, int payloadLength,
                             int tail) {
        if (transmit.none()) {
            inner.commitGather(claim, head, payload, payloadOffset, payloadLength, tail);
            return;
        }
        claim.placePayload(head, payload, payloadOffset, payloadLength, tail);
        commit(claim, head + payloadLength + tail);
    }

    /** The destination of the frame being claimed, so held copies can be sent to it later. */
    private LinkAddress claimedFor;

    @Override
    public void abort(FrameClaim claim) {
        inner.abort(claim);
    }

    @Override
    public int flush() {
        long now = clock.getAsLong();
        for (int n = heldTx.size(); n > 0; n--) {
            Held h = heldTx.poll();
            if (h.dueAfterFrames <= 0 && now - h.dueNanos >= 0) {
                if (inner.tryClaim(h.peer, h.length, innerClaim)) {
                    innerClaim.buffer().put(innerClaim.offset(), h.bytes, 0, h.length);
                    inner.commit(innerClaim, h.length);
                    free.add(h);
                    continue;
                }
            }
            heldTx.add(h);
        }
        return inner.flush();
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private boolean chance(double rate) {
        return rate > 0 && random.nextDouble() < rate;
    }

    private Held hold(ByteBuffer buffer, int offset, int length, LinkAddress peer) {
        Held h = free.poll();
        if (h == null) {
            return null;
        }
        h.bytes.put(0, buffer, offset, length);
        h.length = length;
        h.peer = peer;
        h.dueNanos = 0;
        h.dueAfterFrames = 0;
        return h;
    }

    private void flipAByte(Held h) {
        corrupted++;
        if (h.length > 0) {
            int at = random.nextInt(h.length);
            h.bytes.put(at, (byte) (h.bytes.get(at) ^ (1 << random.nextInt(8))));
        }
    }
}
