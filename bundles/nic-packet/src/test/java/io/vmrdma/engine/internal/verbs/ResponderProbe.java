package io.vmrdma.engine.internal.verbs;

import io.vmrdma.api.verbs.QueuePair;

/** White-box access for the raw-socket tests: the PSN a connected queue pair's responder expects next. */
public final class ResponderProbe {

    private ResponderProbe() {
    }

    public static int expectedPsn(QueuePair qp) {
        return ((Qp) qp).wire.expectedPsn;
    }
}
