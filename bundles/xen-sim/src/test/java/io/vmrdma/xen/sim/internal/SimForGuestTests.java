package io.vmrdma.xen.sim.internal;

import java.nio.file.Path;

/**
 * Starts a simulator with a larger gntalloc limit than Linux's default, for other modules' tests (in this module's
 * test jar): benchmarks of 4 MiB buffers, MPI ranks whose libfabric keeps many receive buffers posted.
 */
public final class SimForGuestTests {

    private SimForGuestTests() {
    }

    public static SimHypervisor start(Path state, int gntallocPages) throws Exception {
        return SimHypervisor.start(SimSettings.defaults(state).withGntallocLimit(gntallocPages));
    }
}
