package io.vmrdma.xen.sim.internal;

import java.nio.file.Path;

import io.vmrdma.xen.sim.internal.xenstore.XsLimits;

/** The simulator's settings, as {@link SimConfig} gives them; Xen's and Linux's defaults unless configured. */
record SimSettings(Path stateDirectory, long dom0MemoryBytes, long maxDomainMemoryBytes, int maxGrantFrames,
                   int maxMaptrackFrames, int gntallocLimit, int maxEventChannels, XsLimits xenstore,
                   long guestShutdownMillis) {

    static final String DEFAULT_STATE_DIRECTORY = "/dev/shm/vmrdma-sim";
    /** Grant maps per maptrack frame: Xen's 16-byte {@code struct grant_mapping}. */
    static final int MAPTRACK_PER_FRAME = 256;
    /** Ports of dom0's table: the 2-level ABI's 4096 on 64-bit. */
    static final int DOM0_EVENT_CHANNELS = 4096;

    static SimSettings of(SimConfig c) {
        return new SimSettings(Path.of(c.stateDirectory()), c.dom0MemoryBytes(), c.maxDomainMemoryBytes(),
                c.maxGrantFrames(), c.maxMaptrackFrames(), c.gntallocLimit(), c.maxEventChannels(),
                new XsLimits(c.xenstoreNodesPerDomain(), c.xenstoreMaxNodeBytes(), c.xenstoreWatchesPerConnection(),
                        c.xenstoreTransactionsPerConnection()),
                c.guestShutdownMillis());
    }

    /** Xen's defaults under {@code stateDirectory}. */
    static SimSettings defaults(Path stateDirectory) {
        return new SimSettings(stateDirectory, 16L << 20, 4L << 30, 64, 1024, 1024, 1023, XsLimits.XEN_DEFAULTS,
                3000);
    }

    SimSettings withGntallocLimit(int limit) {
        return new SimSettings(stateDirectory, dom0MemoryBytes, maxDomainMemoryBytes, maxGrantFrames,
                maxMaptrackFrames, limit, maxEventChannels, xenstore, guestShutdownMillis);
    }

    SimSettings withGrantFrames(int frames, int maptrackFrames) {
        return new SimSettings(stateDirectory, dom0MemoryBytes, maxDomainMemoryBytes, frames, maptrackFrames,
                gntallocLimit, maxEventChannels, xenstore, guestShutdownMillis);
    }

    SimSettings withXenStore(XsLimits limits) {
        return new SimSettings(stateDirectory, dom0MemoryBytes, maxDomainMemoryBytes, maxGrantFrames,
                maxMaptrackFrames, gntallocLimit, maxEventChannels, limits, guestShutdownMillis);
    }

    /** Checks ranges; a bad configuration fails activation with a clear message instead of a broken simulator. */
    SimSettings validate() {
        require(dom0MemoryBytes > 0 && dom0MemoryBytes % 4096 == 0, "dom0MemoryBytes must be whole pages");
        require(maxDomainMemoryBytes > 0, "maxDomainMemoryBytes must be positive");
        require(maxGrantFrames >= 1 && maxGrantFrames <= 4096, "maxGrantFrames must be 1..4096");
        require(maxMaptrackFrames >= 1, "maxMaptrackFrames must be positive");
        require(gntallocLimit >= 1, "gntallocLimit must be positive");
        require(maxEventChannels >= 1 && maxEventChannels < DOM0_EVENT_CHANNELS, "maxEventChannels must be 1..4095");
        require(xenstore.nodesPerDomain() >= 1 && xenstore.maxNodeBytes() >= 1
                && xenstore.watchesPerConnection() >= 1 && xenstore.transactionsPerConnection() >= 1,
                "XenStore quotas must be positive");
        require(guestShutdownMillis >= 0, "guestShutdownMillis must not be negative");
        return this;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException("xen.sim configuration: " + message);
        }
    }
}
