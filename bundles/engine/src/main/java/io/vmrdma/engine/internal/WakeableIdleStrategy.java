package io.vmrdma.engine.internal;

import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;

import org.agrona.concurrent.IdleStrategy;

/**
 * Agrona's back-off (spin, then yield, then park for doubling periods up to a maximum), except that the park can
 * be a wait that a guest's event-channel notification ends early: the guests' backends hand in their wait while
 * they exist. So two cores stay free when nothing happens, and a guest's post does not wait out a whole park.
 */
public final class WakeableIdleStrategy implements IdleStrategy {

    private static final int SPINS = 100;
    private static final int YIELDS = 10;
    private static final long MIN_PARK_NANOS = 1_000;
    private static final long MAX_PARK_NANOS = 1_000_000;

    private volatile LongConsumer waiter;
    private int spins;
    private int yields;
    private long park = MIN_PARK_NANOS;

    /** The wait to use instead of a plain park, or null for a plain park. */
    public void waiter(LongConsumer waiter) {
        this.waiter = waiter;
    }

    @Override
    public void idle(int workCount) {
        if (workCount > 0) {
            reset();
        } else {
            idle();
        }
    }

    @Override
    public void idle() {
        if (spins < SPINS) {
            spins++;
            Thread.onSpinWait();
        } else if (yields < YIELDS) {
            yields++;
            Thread.yield();
        } else {
            LongConsumer w = waiter;
            if (w != null) {
                w.accept(park);
            } else {
                LockSupport.parkNanos(park);
            }
            park = Math.min(park * 2, MAX_PARK_NANOS);
        }
    }

    @Override
    public void reset() {
        spins = 0;
        yields = 0;
        park = MIN_PARK_NANOS;
    }

    @Override
    public String alias() {
        return "wakeable-backoff";
    }
}
