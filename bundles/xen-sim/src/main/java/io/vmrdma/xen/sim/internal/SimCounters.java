package io.vmrdma.xen.sim.internal;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/** What untrusted guests got wrong, and what the simulator refused or cleaned up, counted since activation. */
public final class SimCounters {

    /** Stable counter names; each is documented in docs/xen-sim.md. */
    public enum Counter {
        /** A grant map or copy refused: ref out of range, entry not granted to the mapper, read-only, bad frame. */
        GRANT_REFUSED,
        /** A guest changed or revoked a grant entry while it was mapped (seen at unmap). */
        GRANT_CHANGED_WHILE_MAPPED,
        /** A grant map refused because the mapper's maptrack table is full. */
        GRANT_MAPTRACK_FULL,
        /** An event-channel call on a port that does not exist or is not the caller's. */
        EVTCHN_BAD_PORT,
        /** A hypercall message that was malformed (bad op, length or arguments). */
        HYPERCALL_MALFORMED,
        /** A XenStore request refused for lack of permission. */
        XS_ACCESS_DENIED,
        /** A malformed XenStore request (bad path, missing NUL, unknown type, bad argument). */
        XS_MALFORMED,
        /** A XenStore message over 4096 payload bytes; the connection is dropped, as xenstored does. */
        XS_OVERSIZED,
        /** A XenStore request refused by a quota (nodes, node size, watches, transactions). */
        XS_QUOTA,
        /** A connection dropped because its peer stopped reading (its output passed the bound). */
        CONNECTION_OVERRUN,
        /** Guest processes that did not power off within half the grace period and were sent SIGTERM (then SIGKILL). */
        GUESTS_TERMINATED,
        /** Grant mappings a destroyed domain still held on other domains' pages, released by the simulator. */
        DEAD_DOMAIN_MAPPINGS_RELEASED
    }

    private final AtomicLongArray values = new AtomicLongArray(Counter.values().length);

    public void increment(Counter counter) {
        values.incrementAndGet(counter.ordinal());
    }

    public long get(Counter counter) {
        return values.get(counter.ordinal());
    }

    /** A snapshot of every counter. */
    public Map<Counter, Long> snapshot() {
        Map<Counter, Long> out = new EnumMap<>(Counter.class);
        for (Counter c : Counter.values()) {
            out.put(c, get(c));
        }
        return out;
    }
}
