package io.vmrdma.engine.internal.verbs;

import java.util.ArrayDeque;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.TransmitQueue;
import io.vmrdma.api.sched.Turn;

/**
 * The engine's own minimal round-robin, in charge whenever no policy bundle is: while the configured policy is not
 * installed, after its bundle stops, or when it fails to start. Deliberately the simplest thing that is fair by
 * turns: a FIFO of the backlogged queues, the head sends one frame and goes to the back. A queue that goes idle is
 * only marked and dropped when it reaches the head, so the FIFO holds each slot at most once and never grows.
 */
public final class FallbackScheduler implements Scheduler {

    private final ArrayDeque<TransmitQueue> fifo;
    private final TransmitQueue[] backlogged;
    private final boolean[] inFifo;

    public FallbackScheduler(int capacity) {
        fifo = new ArrayDeque<>(capacity);
        backlogged = new TransmitQueue[capacity];
        inFifo = new boolean[capacity];
    }

    @Override
    public void backlogged(TransmitQueue queue, long nowNanos) {
        backlogged[queue.slot()] = queue;
        if (!inFifo[queue.slot()]) {
            inFifo[queue.slot()] = true;
            fifo.addLast(queue);
        }
    }

    @Override
    public void idle(TransmitQueue queue, long nowNanos) {
        backlogged[queue.slot()] = null;
    }

    @Override
    public boolean next(long nowNanos, Turn turn) {
        TransmitQueue head;
        while ((head = fifo.pollFirst()) != null) {
            // The entry may be stale: use the queue now backlogged in that slot, if any.
            TransmitQueue live = backlogged[head.slot()];
            if (live != null) {
                fifo.addLast(live);
                turn.grant(live, 0);
                return true;
            }
            inFifo[head.slot()] = false;
        }
        return false;
    }

    @Override
    public void sent(TransmitQueue queue, long bytes, long nowNanos) {
        // Turns of one frame each: nothing to account.
    }
}
