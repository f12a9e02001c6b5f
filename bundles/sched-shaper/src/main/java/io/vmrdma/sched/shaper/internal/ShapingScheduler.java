package io.vmrdma.sched.shaper.internal;

import java.util.Arrays;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.TransmitQueue;
import io.vmrdma.api.sched.Turn;

/**
 * A token bucket per VM in front of the ordering scheduler, kept as a virtual finishing time (the generic cell
 * rate algorithm, which is a token bucket without a refill loop): each byte sent pushes the queue's
 * {@code paidUntilNanos} on by 1/rate seconds, and the queue may start a turn while that time is at most its burst
 * ({@code burst / rate} seconds) ahead of now. So over any window of {@code t} seconds a capped VM sends at most
 * {@code rate * t + burst} bytes plus the one frame that may overshoot a turn.
 *
 * <p>A queue over its cap is reported idle to the ordering scheduler and parked in a heap by the time its tokens
 * are back; each decision first hands the ordering scheduler the queues whose time has come. The ordering
 * scheduler therefore only sees queues that may send, and the others use the link meanwhile. Queues without a cap
 * pass straight through. Costs: O(log n) per park and release, O(1) otherwise; no allocation.
 */
final class ShapingScheduler implements Scheduler {

    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    /** The largest burst honoured, so that {@code burst * 10^9} cannot overflow. */
    static final long MAX_BURST_BYTES = 1L << 30;

    private final Scheduler ordering;
    private final TransmitQueue[] backlogged;
    private final long[] rateBytesPerSecond;
    private final long[] burstNanos;
    private final long[] paidUntilNanos;
    private final long[] carriedByteNanos;
    private final ParkedQueues parked;

    ShapingScheduler(Scheduler ordering, int capacity) {
        this.ordering = ordering;
        backlogged = new TransmitQueue[capacity];
        rateBytesPerSecond = new long[capacity];
        burstNanos = new long[capacity];
        paidUntilNanos = new long[capacity];
        carriedByteNanos = new long[capacity];
        parked = new ParkedQueues(capacity);
        // Long before any clock reading (engine clocks may be negative), yet far from overflow: buckets start full.
        Arrays.fill(paidUntilNanos, Long.MIN_VALUE / 4);
    }

    @Override
    public void backlogged(TransmitQueue queue, long nowNanos) {
        int slot = queue.slot();
        if (backlogged[slot] != null) {
            return;
        }
        backlogged[slot] = queue;
        readCap(queue);
        if (mayStart(slot, nowNanos)) {
            ordering.backlogged(queue, nowNanos);
        } else {
            parked.park(slot, eligibleNanos(slot));
        }
    }

    @Override
    public void idle(TransmitQueue queue, long nowNanos) {
        int slot = queue.slot();
        if (backlogged[slot] == null) {
            return;
        }
        backlogged[slot] = null;
        if (parked.contains(slot)) {
            parked.remove(slot);
        } else {
            ordering.idle(queue, nowNanos);
        }
    }

    @Override
    public boolean next(long nowNanos, Turn turn) {
        while (parked.firstDueNanos() <= nowNanos) {
            ordering.backlogged(backlogged[parked.takeFirst()], nowNanos);
        }
        if (!ordering.next(nowNanos, turn)) {
            return false;
        }
        int slot = turn.queue().slot();
        long rate = rateBytesPerSecond[slot];
        if (rate > 0) {
            long aheadNanos = nowNanos + burstNanos[slot] - Math.max(paidUntilNanos[slot], nowNanos);
            // Negative only when the cap was lowered while the queue waited for its turn: one frame, then parked.
            long allowance = Math.max(aheadNanos, 0) * rate / NANOS_PER_SECOND;
            turn.grant(turn.queue(), Math.min(turn.budgetBytes(), allowance));
        }
        return true;
    }

    @Override
    public void sent(TransmitQueue queue, long bytes, long nowNanos) {
        ordering.sent(queue, bytes, nowNanos);
        int slot = queue.slot();
        long rate = rateBytesPerSecond[slot];
        if (rate == 0) {
            return;
        }
        long byteNanos = bytes * NANOS_PER_SECOND + carriedByteNanos[slot];
        paidUntilNanos[slot] = Math.max(paidUntilNanos[slot], nowNanos) + byteNanos / rate;
        carriedByteNanos[slot] = byteNanos % rate;
        if (backlogged[slot] != null && !mayStart(slot, nowNanos)) {
            ordering.idle(queue, nowNanos);
            parked.park(slot, eligibleNanos(slot));
        }
    }

    @Override
    public long nextEligibleNanos(long nowNanos) {
        return Math.min(parked.firstDueNanos(), ordering.nextEligibleNanos(nowNanos));
    }

    @Override
    public void settingsChanged(TransmitQueue queue) {
        ordering.settingsChanged(queue);
        int slot = queue.slot();
        readCap(queue);
        if (parked.contains(slot)) {
            // A lifted or raised cap releases the queue at the next decision (an earlier time is due at once).
            parked.park(slot, rateBytesPerSecond[slot] == 0 ? Long.MIN_VALUE : eligibleNanos(slot));
        }
    }

    private void readCap(TransmitQueue queue) {
        int slot = queue.slot();
        long rate = Math.max(queue.settings().rateBytesPerSecond(), 0);
        long burst = Math.min(Math.max(queue.settings().burstBytes(), 0), MAX_BURST_BYTES);
        if (rate != rateBytesPerSecond[slot]) {
            rateBytesPerSecond[slot] = rate;
            carriedByteNanos[slot] = 0;
        }
        burstNanos[slot] = rate == 0 ? 0 : burst * NANOS_PER_SECOND / rate;
    }

    private boolean mayStart(int slot, long nowNanos) {
        return rateBytesPerSecond[slot] == 0 || paidUntilNanos[slot] - burstNanos[slot] <= nowNanos;
    }

    private long eligibleNanos(int slot) {
        return paidUntilNanos[slot] - burstNanos[slot];
    }
}
