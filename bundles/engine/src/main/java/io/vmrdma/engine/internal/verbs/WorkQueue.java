package io.vmrdma.engine.internal.verbs;

import java.util.function.Supplier;

/**
 * A bounded FIFO of reused entries: posting fills the next one in place. Each slot's entry is made the first time
 * the slot is used, so a queue sized for thousands of requests costs only what its posts have reached; after that
 * posting allocates nothing.
 */
final class WorkQueue<E> {

    private final Object[] entries;
    private final Supplier<E> factory;
    private long head;
    private long tail;
    /** The slots of {@link #head} and {@link #tail}, kept as they move: no 64-bit division to find an entry. */
    /**
     * The slots of {@link #head} and {@link #tail}, moved with them: finding an entry takes no 64-bit division, which
     * cost the transport a few per packet (it reads a request's fields by position).
     */
    private int headSlot;
    private int tailSlot;

    WorkQueue(int capacity, Supplier<E> factory) {
        entries = new Object[capacity];
        this.factory = factory;
    }

    /** How many entries it holds at most. */
    int capacity() {
        return entries.length;
    }

    boolean isFull() {
        return tail - head == entries.length;
    }

    boolean isEmpty() {
        return head == tail;
    }

    int size() {
        return (int) (tail - head);
    }

    /** The entry to fill for the next post; {@link #commit()} makes it visible. Only when not full. */
    @SuppressWarnings("unchecked")
    E claim() {
        int slot = tailSlot;
        Object entry = entries[slot];
        if (entry == null) {
            entry = factory.get();
            entries[slot] = entry;
        }
        return (E) entry;
    }

    void commit() {
        tail++;
        tailSlot = next(tailSlot);
    }

    /** The oldest entry. Only when not empty. */
    @SuppressWarnings("unchecked")
    E head() {
        return (E) entries[headSlot];
    }

    /** The entry {@code k} places behind the head (0 is the head). Only when {@code k < size()}. */
    @SuppressWarnings("unchecked")
    E peek(int k) {
        int slot = headSlot + k;
        return (E) entries[slot >= entries.length ? slot - entries.length : slot];
    }

    void removeHead() {
        head++;
        headSlot = next(headSlot);
    }

    private int next(int slot) {
        return slot + 1 == entries.length ? 0 : slot + 1;
    }

    /**
     * Gives back the entry removed last, as the new head, when there is room: a receive consumed by a message that
     * then failed is posted again, as an InfiniBand responder that never saw the message's end keeps its WQE.
     *
     * @return the slot to refill with the entry's contents, or null when the queue filled up meanwhile
     */
    @SuppressWarnings("unchecked")
    E unshift() {
        if (isFull()) {
            return null;
        }
        head--;
        headSlot = headSlot == 0 ? entries.length - 1 : headSlot - 1;
        return (E) entries[headSlot];
    }

    void clear() {
        head = tail;
        headSlot = tailSlot;
    }
}
