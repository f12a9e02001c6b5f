package io.vmrdma.xen.sim.internal;

import io.vmrdma.api.xen.GrantStatus;
import io.vmrdma.xen.sim.guest.SimAbi;
import io.vmrdma.xen.sim.internal.SimCounters.Counter;
import io.vmrdma.xen.sim.internal.abi.GrantTableView;

/**
 * The hypervisor's grant checks, as {@code xen/common/grant_table.c}: a map or copy pins the entry after checking
 * it is permit_access, granted to the caller, and not read-only for a write; the pin sets GTF_reading (and
 * GTF_writing) by compare-and-swap on the entry's flags word, so a guest's concurrent revoke (its own CAS) either
 * wins before the pin, and the map fails, or fails itself. The frame is read once at the first pin and kept,
 * so a guest rewriting a live entry cannot move a mapping.
 *
 * <p>Locking: each granter's grant state is guarded by that {@link SimDomain}'s monitor; maptrack counts by the
 * mapper's. Never both at once in the other order.
 */
final class GrantOps {

    private final SimCounters counters;
    private final int maptrackEntries;

    /** @param maptrackEntries how many grants one domain may have mapped at once (maptrack frames × 256) */
    GrantOps(SimCounters counters, int maptrackEntries) {
        this.counters = counters;
        this.maptrackEntries = maptrackEntries;
    }

    /** The outcome of a map: the pinned frames, or the GNTST status of the first grant that failed. */
    record Result(GrantMap map, short status, int failedIndex) {
    }

    /** Pins every ref for {@code mapper}, all or nothing. */
    Result map(SimDomain mapper, SimDomain granter, int[] refs, boolean writable) {
        synchronized (mapper) {
            if (mapper.maptrackUsed + refs.length > maptrackEntries) {
                counters.increment(Counter.GRANT_MAPTRACK_FULL);
                return new Result(null, GrantStatus.NO_DEVICE_SPACE, 0);
            }
            mapper.maptrackUsed += refs.length;
        }
        int[] frames = new int[refs.length];
        synchronized (granter) {
            if (granter.dying) {
                releaseMaptrack(mapper, refs.length);
                counters.increment(Counter.GRANT_REFUSED);
                return new Result(null, GrantStatus.BAD_DOMAIN, 0);
            }
            for (int i = 0; i < refs.length; i++) {
                int frame = pin(granter, mapper.domid, refs[i], writable);
                if (frame < 0) {
                    for (int j = 0; j < i; j++) {
                        unpin(granter, refs[j], writable);
                    }
                    releaseMaptrack(mapper, refs.length);
                    counters.increment(Counter.GRANT_REFUSED);
                    return new Result(null, (short) frame, i);
                }
                frames[i] = frame;
            }
            granter.foreignPins += refs.length;
        }
        return new Result(new GrantMap(granter, mapper, refs.clone(), frames, writable), GrantStatus.OKAY, -1);
    }

    /**
     * Unpins a map's grants once.
     *
     * @return whether the granter is dying and this was the last pin on it, so its memory may go now
     */
    boolean unmap(GrantMap map) {
        boolean release;
        synchronized (map.granter) {
            if (map.unmapped) {
                return false;
            }
            map.unmapped = true;
            for (int ref : map.refs) {
                unpin(map.granter, ref, map.writable);
            }
            map.granter.foreignPins -= map.refs.length;
            release = map.granter.dying && map.granter.foreignPins == 0;
        }
        releaseMaptrack(map.mapper, map.refs.length);
        return release;
    }

    /**
     * Pins one grant for a copy (read for a source, write for a destination) and returns its frame, or a negative
     * GNTST status. Unpin with {@link #unpinForCopy}.
     */
    int pinForCopy(SimDomain granter, int callerDomid, int ref, boolean write) {
        synchronized (granter) {
            if (granter.dying) {
                counters.increment(Counter.GRANT_REFUSED);
                return GrantStatus.BAD_DOMAIN;
            }
            int frame = pin(granter, callerDomid, ref, write);
            if (frame < 0) {
                counters.increment(Counter.GRANT_REFUSED);
            }
            return frame;
        }
    }

    void unpinForCopy(SimDomain granter, int ref, boolean write) {
        synchronized (granter) {
            unpin(granter, ref, write);
        }
    }

    /** Xen's pin of one entry, under the granter's lock. */
    private static int pin(SimDomain granter, int mapperDomid, int ref, boolean write) {
        GrantTableView table = granter.grants;
        if (ref < 0 || ref >= table.entries()) {
            return GrantStatus.BAD_GNTREF;
        }
        while (true) {
            int word = table.word(ref);
            int flags = GrantTableView.flags(word);
            if ((flags & SimAbi.GTF_TYPE_MASK) != SimAbi.GTF_PERMIT_ACCESS
                    || GrantTableView.domid(word) != mapperDomid
                    || write && (flags & SimAbi.GTF_READONLY) != 0) {
                return GrantStatus.GENERAL_ERROR;
            }
            int pinned = word | SimAbi.GTF_READING | (write ? SimAbi.GTF_WRITING : 0);
            if (table.compareAndSetWord(ref, word, pinned)) {
                break;
            }
        }
        if (granter.readPins[ref] + granter.writePins[ref] == 0) {
            int frame = table.frame(ref);
            if (frame < 0 || frame >= granter.pages()) {
                clearBits(table, ref, SimAbi.GTF_READING | SimAbi.GTF_WRITING);
                return GrantStatus.BAD_PAGE;
            }
            granter.pinnedFrame[ref] = frame;
        }
        if (write) {
            granter.writePins[ref]++;
        } else {
            granter.readPins[ref]++;
        }
        return granter.pinnedFrame[ref];
    }

    private void unpin(SimDomain granter, int ref, boolean write) {
        if (write) {
            granter.writePins[ref]--;
        } else {
            granter.readPins[ref]--;
        }
        int clear = 0;
        if (granter.writePins[ref] == 0) {
            clear |= SimAbi.GTF_WRITING;
        }
        if (granter.readPins[ref] + granter.writePins[ref] == 0) {
            clear |= SimAbi.GTF_READING;
        }
        int word = clearBits(granter.grants, ref, clear);
        if ((GrantTableView.flags(word) & SimAbi.GTF_TYPE_MASK) != SimAbi.GTF_PERMIT_ACCESS) {
            counters.increment(Counter.GRANT_CHANGED_WHILE_MAPPED);
        }
    }

    private static int clearBits(GrantTableView table, int ref, int bits) {
        while (true) {
            int word = table.word(ref);
            if (bits == 0 || table.compareAndSetWord(ref, word, word & ~bits)) {
                return word;
            }
        }
    }

    private static void releaseMaptrack(SimDomain mapper, int count) {
        synchronized (mapper) {
            mapper.maptrackUsed -= count;
        }
    }
}
