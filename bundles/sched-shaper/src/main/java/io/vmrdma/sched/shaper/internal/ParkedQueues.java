package io.vmrdma.sched.shaper.internal;

import java.util.Arrays;

/**
 * Queues over their rate, by the time they may send again: an indexed binary min-heap of slots, so adding,
 * taking the earliest and removing any one cost O(log n) and allocate nothing.
 */
final class ParkedQueues {

    private static final int ABSENT = -1;

    private final int[] heap;
    private final int[] position;
    private final long[] dueNanos;
    private int size;

    ParkedQueues(int capacity) {
        heap = new int[capacity];
        position = new int[capacity];
        dueNanos = new long[capacity];
        Arrays.fill(position, ABSENT);
    }

    boolean contains(int slot) {
        return position[slot] != ABSENT;
    }

    /** When the earliest parked queue may send, {@link Long#MAX_VALUE} when none is parked. */
    long firstDueNanos() {
        return size == 0 ? Long.MAX_VALUE : dueNanos[heap[0]];
    }

    /** Parks {@code slot} until {@code due}, or moves it there if it is parked already. */
    void park(int slot, long due) {
        if (contains(slot)) {
            long old = dueNanos[slot];
            dueNanos[slot] = due;
            if (due < old) {
                siftUp(position[slot]);
            } else {
                siftDown(position[slot]);
            }
            return;
        }
        dueNanos[slot] = due;
        heap[size] = slot;
        position[slot] = size;
        siftUp(size++);
    }

    /** Takes the earliest parked queue; there must be one. */
    int takeFirst() {
        int first = heap[0];
        remove(first);
        return first;
    }

    void remove(int slot) {
        int at = position[slot];
        position[slot] = ABSENT;
        int last = heap[--size];
        if (at == size) {
            return;
        }
        heap[at] = last;
        position[last] = at;
        siftDown(at);
        siftUp(position[last]);
    }

    private void siftUp(int at) {
        int slot = heap[at];
        while (at > 0) {
            int parent = (at - 1) >>> 1;
            if (dueNanos[heap[parent]] <= dueNanos[slot]) {
                break;
            }
            place(heap[parent], at);
            at = parent;
        }
        place(slot, at);
    }

    private void siftDown(int at) {
        int slot = heap[at];
        while (true) {
            int child = 2 * at + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && dueNanos[heap[child + 1]] < dueNanos[heap[child]]) {
                child++;
            }
            if (dueNanos[slot] <= dueNanos[heap[child]]) {
                break;
            }
            place(heap[child], at);
            at = child;
        }
        place(slot, at);
    }

    private void place(int slot, int at) {
        heap[at] = slot;
        position[slot] = at;
    }
}
