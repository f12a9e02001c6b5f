package io.vmrdma.sched.rr.internal;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.TransmitQueue;
import io.vmrdma.api.sched.Turn;

/**
 * The backlogged queues in a circular doubly linked list kept in arrays indexed by slot, and a cursor on the queue
 * whose turn is next: every operation is O(1) and allocates nothing. A queue that becomes backlogged joins just
 * before the cursor, i.e. at the end of the current round.
 */
final class RoundRobinScheduler implements Scheduler {

    private static final int NONE = -1;

    private final TransmitQueue[] queues;
    private final int[] next;
    private final int[] prev;
    private int cursor = NONE;

    RoundRobinScheduler(int capacity) {
        queues = new TransmitQueue[capacity];
        next = new int[capacity];
        prev = new int[capacity];
    }

    @Override
    public void backlogged(TransmitQueue queue, long nowNanos) {
        int slot = queue.slot();
        if (queues[slot] != null) {
            return;
        }
        queues[slot] = queue;
        if (cursor == NONE) {
            next[slot] = slot;
            prev[slot] = slot;
            cursor = slot;
        } else {
            int tail = prev[cursor];
            next[tail] = slot;
            prev[slot] = tail;
            next[slot] = cursor;
            prev[cursor] = slot;
        }
    }

    @Override
    public void idle(TransmitQueue queue, long nowNanos) {
        int slot = queue.slot();
        if (queues[slot] == null) {
            return;
        }
        queues[slot] = null;
        if (next[slot] == slot) {
            cursor = NONE;
            return;
        }
        next[prev[slot]] = next[slot];
        prev[next[slot]] = prev[slot];
        if (cursor == slot) {
            cursor = next[slot];
        }
    }

    @Override
    public boolean next(long nowNanos, Turn turn) {
        if (cursor == NONE) {
            return false;
        }
        turn.grant(queues[cursor], 0);
        cursor = next[cursor];
        return true;
    }

    @Override
    public void sent(TransmitQueue queue, long bytes, long nowNanos) {
        // Round-robin counts turns, not bytes.
    }
}
