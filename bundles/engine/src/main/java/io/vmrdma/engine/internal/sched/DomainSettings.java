package io.vmrdma.engine.internal.sched;

import io.vmrdma.api.sched.VmSettings;

/** One domain's scheduling settings in force, after defaults are filled in. */
record DomainSettings(int weight, int priority, long rateBytesPerSecond, long burstBytes) implements VmSettings {

    /** What a domain without settings of its own gets: weight 1, the middle level 4, no rate cap. */
    static final DomainSettings DEFAULTS = new DomainSettings(1, 4, 0, 0);

    /**
     * The burst a rate cap gets when none is configured: 10 ms at the rate, and at least one 64 KiB frame; none
     * without a cap.
     */
    static long defaultBurst(long rateBytesPerSecond) {
        return rateBytesPerSecond == 0 ? 0 : Math.max(rateBytesPerSecond / 100, 64 * 1024);
    }
}
