package io.vmrdma.api.sched;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * One engine's instance of a policy: the state of one scheduling decision loop. Called from one thread only.
 */
@ConsumerType
public interface Scheduler {

    /** {@code queue} went from empty to having work. */
    void backlogged(TransmitQueue queue, long nowNanos);

    /** {@code queue} has no more work; it will not be offered again until it is backlogged again. */
    void idle(TransmitQueue queue, long nowNanos);

    /**
     * Picks who sends next among the backlogged queues and grants a budget through {@code turn}.
     *
     * @return false when no backlogged queue may send now (all are over their rate, say)
     */
    boolean next(long nowNanos, Turn turn);

    /** {@code queue} sent {@code bytes} in the turn it was granted (possibly more than its budget by one frame). */
    void sent(TransmitQueue queue, long bytes, long nowNanos);

    /**
     * When {@link #next} returned false, the earliest time at which it could return true, so the engine may sleep
     * until then; {@link Long#MAX_VALUE} when only new work can change the answer.
     */
    default long nextEligibleNanos(long nowNanos) {
        return Long.MAX_VALUE;
    }

    /** The operator changed {@code queue}'s settings; they apply from the next decision. */
    default void settingsChanged(TransmitQueue queue) {
    }
}
