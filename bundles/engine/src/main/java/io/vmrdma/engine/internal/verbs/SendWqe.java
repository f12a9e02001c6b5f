package io.vmrdma.engine.internal.verbs;

import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.ScatterGatherList;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;

/** A send work-queue entry: the engine's own copy of a posted request, plus how far it has got. */
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
    /** Whether the checks passed and the message is being moved. */
    boolean started;

    /** On the wire: the first and last PSN the message uses (a READ reserves one per response packet). */
    int firstPsn;
    int lastPsn;
    /** On the wire: payload bytes per packet of this message. */
    int segment;
    /** On the wire: the message sequence number of a request that consumes a receive. */
    int msn;
    /** On the wire: READ response packets received so far. */
    int responsesReceived;
    /** On the wire: the responder refused the request; it completes with this status when it reaches the head. */
    io.vmrdma.api.verbs.WcStatus failure;

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
        responsesReceived = 0;
        failure = null;
    }

    boolean signaled(boolean signalAll) {
        return signalAll || (flags & SendFlags.SIGNALED) != 0;
    }
}
