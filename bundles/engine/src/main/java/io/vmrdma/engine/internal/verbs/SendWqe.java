package io.vmrdma.engine.internal.verbs;

import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.ScatterGatherList;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;

/**
 * A send work-queue entry: the engine's own copy of a posted request, plus how far it has got when it goes memory
 * to memory (the transport keeps the wire state of a request in the queue pair's WireQp).
 */
final class SendWqe {

    long wrId;
    Opcode opcode;
    int flags;
    final ScatterGatherList sgl = new ScatterGatherList();
    long remoteAddress;
    int rkey;
    int imm;

    /** Bytes of the message already moved; 0 until the request has passed its checks. */
    long done;
    /** Total message length, fixed when the request starts. */
    long total;
    /** Whether the checks passed and the message is being moved (memory to memory; the wire's is in its WireQp). */
    boolean started;

    void copyFrom(SendWorkRequest request) {
        wrId = request.wrId();
        opcode = request.opcode();
        flags = request.sendFlags();
        sgl.copyFrom(request.sgl());
        remoteAddress = request.remoteAddress();
        rkey = request.rkey();
        imm = request.immData();
        done = 0;
        total = 0;
        started = false;
    }

    boolean signaled(boolean signalAll) {
        return signalAll || (flags & SendFlags.SIGNALED) != 0;
    }
}
