package io.vmrdma.engine.internal.status;

import java.util.concurrent.atomic.AtomicLongArray;

import io.vmrdma.api.Counter;

/**
 * One set of {@link Counter}s (for a node, a domain or a queue pair), indexed by the counters' stable ids.
 * Written only by the engine's data agent, so an increment is a plain read and an ordered write: no lock, no CAS,
 * no allocation; readers on other threads see each value whole.
 */
public final class CounterBlock {

    private static final int SIZE = Counter.values().length;

    private final AtomicLongArray values = new AtomicLongArray(SIZE);

    /** Adds {@code delta} to a counter; single writer only. */
    public void add(Counter counter, long delta) {
        int i = counter.id();
        values.lazySet(i, values.get(i) + delta);
    }

    /** The current value of a counter. */
    public long get(Counter counter) {
        return values.get(counter.id());
    }
}
