package io.vmrdma.engine.internal.verbs;

import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.ScatterGatherList;

/** A receive work-queue entry: the engine's own copy of a posted receive. */
final class RecvWqe {

    long wrId;
    final ScatterGatherList sgl = new ScatterGatherList();

    void copyFrom(RecvWorkRequest request) {
        wrId = request.wrId();
        sgl.copyFrom(request.sgl());
    }

    void copyFrom(RecvWqe other) {
        wrId = other.wrId;
        sgl.copyFrom(other.sgl);
    }
}
