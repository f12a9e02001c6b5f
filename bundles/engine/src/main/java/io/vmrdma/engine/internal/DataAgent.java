package io.vmrdma.engine.internal;

import io.vmrdma.engine.internal.verbs.VerbsEngine;
import org.agrona.concurrent.Agent;

/**
 * The engine's data agent: one thread's duty cycle over everything on the data path. Today that is the verbs
 * engine's request processing and connection timers; guest backends and the NIC join it as they arrive.
 */
final class DataAgent implements Agent {

    private final VerbsEngine verbs;

    DataAgent(VerbsEngine verbs) {
        this.verbs = verbs;
    }

    @Override
    public int doWork() {
        return verbs.doWork();
    }

    @Override
    public String roleName() {
        return "vmrdma-data-" + verbs.nodeId();
    }
}
