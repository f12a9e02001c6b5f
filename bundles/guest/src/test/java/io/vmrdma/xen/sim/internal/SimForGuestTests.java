package io.vmrdma.xen.sim.internal;

import java.nio.file.Path;

/** Starts a simulator with a larger gntalloc limit than Linux's default, for benchmarks of 4 MiB buffers. */
public final class SimForGuestTests {

    private SimForGuestTests() {
    }

    public static SimHypervisor start(Path state, int gntallocPages) throws Exception {
        return SimHypervisor.start(SimSettings.defaults(state).withGntallocLimit(gntallocPages));
    }
}
