package io.vmrdma.xen.sim.internal;

/** One successful grant map: which grants of which domain a domain pinned, to unpin them exactly once. */
final class GrantMap {
    final SimDomain granter;
    final SimDomain mapper;
    final int[] refs;
    final int[] frames;
    final boolean writable;
    boolean unmapped;

    GrantMap(SimDomain granter, SimDomain mapper, int[] refs, int[] frames, boolean writable) {
        this.granter = granter;
        this.mapper = mapper;
        this.refs = refs;
        this.frames = frames;
        this.writable = writable;
    }

    /** Whether the frames are adjacent, so one slice of the granter's memory shows them. */
    boolean contiguous() {
        for (int i = 1; i < frames.length; i++) {
            if (frames[i] != frames[0] + i) {
                return false;
            }
        }
        return true;
    }
}
