package io.vmrdma.engine.internal;

import java.util.function.LongSupplier;

/**
 * How long the data agent's idle spells lasted lately (from the first duty cycle that found nothing to the next one
 * that found work), so that it spins through the next spell only where that pays. A reply some microseconds away
 * is caught without a wake-up; a window waiting hundreds of microseconds for its acknowledgement sleeps at once. A
 * turn of the spin is a whole duty cycle with a receive call, so spinning through a long spell burns a core that
 * other threads of the host need: seven engines sharing two cores got 10-20 % of a core each that way, and moved
 * data in that ratio. The agent's thread only.
 */
final class IdleSpells {

    /** Spells typically this short are spun through, up to this long. */
    static final long SPIN_NANOS = 30_000;
    /** A longer spell counts as this long, so that one long spell does not stop the spinning through many short ones. */
    private static final long LONGEST_SAMPLE_NANOS = 4 * SPIN_NANOS;

    private final LongSupplier clock;
    /** Smoothed spell length, each new one weighing an eighth. */
    private long typicalNanos;
    private boolean idle;
    private long idleSinceNanos;

    IdleSpells(LongSupplier clock) {
        this.clock = clock;
    }

    /** A duty cycle found work: the spell in progress, if any, ended. */
    void workFound() {
        if (idle) {
            idle = false;
            long spell = Math.min(clock.getAsLong() - idleSinceNanos, LONGEST_SAMPLE_NANOS);
            typicalNanos += (spell - typicalNanos) / 8;
        }
    }

    /** A duty cycle found nothing: whether to spin on rather than sleep. */
    boolean spin() {
        long now = clock.getAsLong();
        if (!idle) {
            idle = true;
            idleSinceNanos = now;
        }
        return typicalNanos <= SPIN_NANOS && now - idleSinceNanos < SPIN_NANOS;
    }

    /** Nanoseconds a spell typically lasts lately, as counted (long ones cut short). */
    long typicalNanos() {
        return typicalNanos;
    }
}
