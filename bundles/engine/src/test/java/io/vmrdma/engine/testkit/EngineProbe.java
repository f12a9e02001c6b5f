package io.vmrdma.engine.testkit;

import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.engine.internal.transport.WireEndpoint;
import io.vmrdma.engine.internal.transport.WireQp;

/**
 * What a test may read of a queue pair's transport state beyond the verbs API, for tests in other bundles (the NIC
 * bindings' end-to-end and replay tests): read-only, through the transport's public accessors, for a queue pair
 * connected to another node. Published in the engine's test jar.
 */
public final class EngineProbe {

    private EngineProbe() {
    }

    /** The PSN the queue pair's responder expects next. */
    public static int expectedPsn(QueuePair qp) {
        return wire(qp).expectedPsn();
    }

    /** The PSN the queue pair's next new request packet gets. */
    public static int nextPsn(QueuePair qp) {
        return wire(qp).nextPsn();
    }

    /** The oldest PSN the queue pair sent and has not had acknowledged ({@link #nextPsn} when none). */
    public static int basePsn(QueuePair qp) {
        return wire(qp).basePsn();
    }

    private static WireQp wire(QueuePair qp) {
        WireQp wire = qp instanceof WireEndpoint endpoint ? endpoint.wire() : null;
        if (wire == null) {
            throw new IllegalArgumentException(qp + " is not connected to a queue pair on another node");
        }
        return wire;
    }
}
