package io.vmrdma.sched.drr.internal;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.TransmitQueue;
import io.vmrdma.api.sched.Turn;
import org.agrona.collections.IntArrayQueue;

/**
 * Deficit round-robin (Shreedhar and Varghese, 1995) by bytes. Each round, a backlogged queue's deficit grows by
 * its quantum, {@link #QUANTUM_BYTES} times its weight, and its turn may send that many bytes. The engine may
 * overshoot a budget by one frame; the overshoot stays as debt and is paid from the next round, so shares are
 * exact in the long run.
 *
 * <p>The round is a FIFO of slots. A queue that goes idle is only marked: its stale entry is dropped when it comes
 * up, so every call is O(1) (amortised over the idle events) and allocates nothing; each slot is in the FIFO at
 * most once, so the FIFO never grows beyond its initial capacity.
 */
final class DeficitRoundRobinScheduler implements Scheduler {

    /**
     * A weight-1 queue's bytes per round: one largest frame (64 KiB), so a queue in debt from its last frame
     * still gets a turn every round and a decision never skips queues.
     */
    static final long QUANTUM_BYTES = 65_536;

    /** The weight a VM's settings may give at most; larger values are taken as this. */
    static final int MAX_WEIGHT = 1000;

    private final TransmitQueue[] backlogged;
    private final long[] deficitBytes;
    private final boolean[] inRound;
    private final IntArrayQueue round;

    DeficitRoundRobinScheduler(int capacity) {
        backlogged = new TransmitQueue[capacity];
        deficitBytes = new long[capacity];
        inRound = new boolean[capacity];
        round = new IntArrayQueue(Math.max(capacity, IntArrayQueue.MIN_CAPACITY));
    }

    @Override
    public void backlogged(TransmitQueue queue, long nowNanos) {
        int slot = queue.slot();
        backlogged[slot] = queue;
        if (!inRound[slot]) {
            inRound[slot] = true;
            round.offerInt(slot);
        }
    }

    @Override
    public void idle(TransmitQueue queue, long nowNanos) {
        int slot = queue.slot();
        backlogged[slot] = null;
        // Classic DRR: a queue that empties forfeits its deficit (and its debt), so idling earns no credit.
        deficitBytes[slot] = 0;
    }

    @Override
    public boolean next(long nowNanos, Turn turn) {
        while (!round.isEmpty()) {
            int slot = round.pollInt();
            TransmitQueue queue = backlogged[slot];
            if (queue == null) {
                inRound[slot] = false;
                continue;
            }
            round.offerInt(slot);
            long quantum = QUANTUM_BYTES * Math.min(Math.max(queue.settings().weight(), 1), MAX_WEIGHT);
            // Budget the engine could not use (back-pressure) is not hoarded beyond one quantum.
            long deficit = Math.min(deficitBytes[slot] + quantum, quantum);
            deficitBytes[slot] = deficit;
            if (deficit > 0) {
                turn.grant(queue, deficit);
                return true;
            }
        }
        return false;
    }

    @Override
    public void sent(TransmitQueue queue, long bytes, long nowNanos) {
        deficitBytes[queue.slot()] -= bytes;
    }
}
