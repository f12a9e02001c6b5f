package io.vmrdma.engine.internal.status;

import io.vmrdma.api.Counter;

/**
 * The counters one event touches: a queue pair's, its domain's and the node's. Counting at the narrowest level
 * counts at all three, so the totals always add up.
 */
public final class Counters {

    private final CounterBlock own = new CounterBlock();
    private final CounterBlock[] parents;

    /** Counters that also count into {@code parents} (the domain's, then the node's). */
    public Counters(Counters... parents) {
        this.parents = new CounterBlock[parents.length];
        for (int i = 0; i < parents.length; i++) {
            this.parents[i] = parents[i].own;
        }
    }

    public void increment(Counter counter) {
        add(counter, 1);
    }

    public void add(Counter counter, long delta) {
        own.add(counter, delta);
        for (CounterBlock parent : parents) {
            parent.add(counter, delta);
        }
    }

    /** This level's value. */
    public long get(Counter counter) {
        return own.get(counter);
    }
}
