package io.vmrdma.api.sched;

/**
 * The answer to {@link Scheduler#next}: which queue sends now and how many bytes it may send in this turn. The
 * engine owns one instance and reuses it, so a decision allocates nothing.
 */
public final class Turn {

    private TransmitQueue queue;
    private long budgetBytes;

    /** Fills the turn; a budget smaller than one frame still lets the queue send one frame. */
    public void grant(TransmitQueue queue, long budgetBytes) {
        this.queue = queue;
        this.budgetBytes = budgetBytes;
    }

    /** The queue whose turn it is. */
    public TransmitQueue queue() {
        return queue;
    }

    /** Bytes the queue may send before the engine asks again. */
    public long budgetBytes() {
        return budgetBytes;
    }
}
