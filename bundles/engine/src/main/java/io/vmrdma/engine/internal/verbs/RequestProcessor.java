package io.vmrdma.engine.internal.verbs;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QpAttributes;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;

/**
 * Carries out the request at the head of a queue pair's send queue against a responder on this node, memory to
 * memory: first every check a responder and requester make (keys, protection domains, access flags, bounds,
 * partition, a posted receive), then the data in chunks, one copy each, re-checking before every chunk that the
 * regions involved are still registered. Requests of one queue pair complete strictly in order.
 */
final class RequestProcessor {

    private final VerbsEngine engine;
    private final SgCursor source = new SgCursor();
    private final SgCursor destination = new SgCursor();
    /** The queue pair whose head request {@link #source} and {@link #destination} describe. */
    private Qp current;
    /** Bytes moved, ever: the send scheduler charges turns by the difference. */
    private long bytesMoved;

    RequestProcessor(VerbsEngine engine) {
        this.engine = engine;
    }

    /**
     * Works on the head request of {@code qp} for up to {@code budget} bytes.
     *
     * @return 1 when something happened (bytes moved, a completion), 0 when the request has to wait
     */
    int turn(Qp qp, long budget, long now) {
        Qp peer = engine.qp(qp.remote());
        if (peer != null && peer.owner().paused()) {
            // Its domain is migrating: the request waits, and goes over the wire if the domain leaves.
            return 0;
        }
        SendWqe w = qp.sq.head();
        if (!w.started) {
            if (now < qp.notBeforeNanos) {
                return 0;
            }
            Outcome outcome = start(qp, w, now);
            if (outcome == Outcome.WAIT) {
                return 0;
            }
            if (outcome == Outcome.FAILED) {
                return 1;
            }
        } else if (current != qp && !resume(qp, w)) {
            return 1;
        }
        if (!stillReachable(qp, w)) {
            return 1;
        }
        long moved = SgCursor.copy(source, destination, Math.min(budget, w.total - w.done));
        w.done += moved;
        bytesMoved += moved;
        if (w.done == w.total) {
            finish(qp, w);
        }
        return 1;
    }

    long bytesMoved() {
        return bytesMoved;
    }

    /** Forgets any progress of {@code qp}'s head request; a receive it consumed goes back to its responder. */
    void abandon(Qp qp) {
        if (qp.sq.isEmpty()) {
            return;
        }
        SendWqe w = qp.sq.head();
        if (w.started && qp.responder != null) {
            RecvWqe slot = qp.responder.live ? qp.responder.rq.unshift() : null;
            if (slot != null) {
                slot.copyFrom(qp.consumedRecv);
            }
        }
        w.started = false;
        w.done = 0;
        qp.responder = null;
        if (current == qp) {
            current = null;
        }
    }

    private enum Outcome {
        STARTED,
        WAIT,
        FAILED
    }

    private Outcome start(Qp qp, SendWqe w, long now) {
        current = null;
        source.reset();
        destination.reset();
        long total = w.sgl.totalLength();
        if (total > engine.limits().maxMessageBytes()) {
            return fail(qp, w, WcStatus.LOC_LEN_ERR);
        }
        int localAccess = w.opcode == Opcode.RDMA_READ ? AccessFlags.LOCAL_WRITE : 0;
        if (!qp.resolve(w.sgl, localAccess, w.opcode == Opcode.RDMA_READ ? destination : source)) {
            qp.counters().increment(Counter.PROTECTION_FAULTS);
            return fail(qp, w, WcStatus.LOC_PROT_ERR);
        }
        Qp responder = engine.qp(qp.remote());
        if (responder == null || !responder.serves(qp.address())) {
            return fail(qp, w, WcStatus.RETRY_EXC_ERR);
        }
        PartitionTable partitions = engine.partitions();
        if (qp.pkey() != responder.pkey() || !partitions.isMember(qp.owner().name(), qp.pkey())
                || !partitions.isMember(responder.owner().name(), qp.pkey())) {
            qp.counters().increment(Counter.PARTITION_VIOLATIONS);
            responder.counters().increment(Counter.PARTITION_VIOLATIONS);
            return fail(qp, w, WcStatus.RETRY_EXC_ERR);
        }
        switch (w.opcode) {
            case RDMA_WRITE, RDMA_WRITE_WITH_IMM, RDMA_READ -> {
                int access = w.opcode == Opcode.RDMA_READ ? AccessFlags.REMOTE_READ : AccessFlags.REMOTE_WRITE;
                Region region = engine.byRkey(w.rkey);
                if (region == null || !region.allows(responder.pd(), w.remoteAddress, total, access)) {
                    responder.counters().increment(Counter.PROTECTION_FAULTS);
                    return fail(qp, w, WcStatus.REM_ACCESS_ERR);
                }
                SgCursor remote = w.opcode == Opcode.RDMA_READ ? source : destination;
                remote.add(region, region.offsetOf(w.remoteAddress), (int) total);
            }
            default -> {
                // SEND and SEND_WITH_IMM: the data lands in the responder's receive buffers
            }
        }
        if (w.opcode.consumesRecv()) {
            Outcome received = consumeRecv(qp, w, responder, total, now);
            if (received != Outcome.STARTED) {
                return received;
            }
        }
        w.total = total;
        w.started = true;
        current = qp;
        return Outcome.STARTED;
    }

    private Outcome consumeRecv(Qp qp, SendWqe w, Qp responder, long total, long now) {
        if (responder.rq.isEmpty()) {
            qp.counters().increment(Counter.RNR_NAKS);
            if (qp.rnrRetry != QpAttributes.INFINITE_RNR_RETRY && qp.rnrRetriesLeft-- <= 0) {
                return fail(qp, w, WcStatus.RNR_RETRY_EXC_ERR);
            }
            qp.notBeforeNanos = now + engine.rnrDelayNanos();
            source.reset();
            destination.reset();
            return Outcome.WAIT;
        }
        RecvWqe recv = responder.rq.head();
        if (w.opcode != Opcode.RDMA_WRITE_WITH_IMM) {
            if (!responder.resolve(recv.sgl, AccessFlags.LOCAL_WRITE, destination)) {
                responder.counters().increment(Counter.PROTECTION_FAULTS);
                responder.rq.removeHead();
                engine.states().complete(responder.recvCq(), responder, recv.wrId, WcStatus.LOC_PROT_ERR, WcOpcode.RECV,
                        0,
                        false, 0);
                engine.states().enterError(responder);
                return fail(qp, w, WcStatus.REM_OP_ERR);
            }
            if (total > recv.sgl.totalLength()) {
                responder.rq.removeHead();
                engine.states().complete(responder.recvCq(), responder, recv.wrId, WcStatus.LOC_LEN_ERR, WcOpcode.RECV,
                        0,
                        false, 0);
                engine.states().enterError(responder);
                return fail(qp, w, WcStatus.REM_INV_REQ_ERR);
            }
        }
        qp.consumedRecv.copyFrom(recv);
        responder.rq.removeHead();
        qp.responder = responder;
        return Outcome.STARTED;
    }

    /** Rebuilds the cursors of a request that was started in an earlier turn of another queue pair's. */
    private boolean resume(Qp qp, SendWqe w) {
        source.reset();
        destination.reset();
        boolean ok = qp.resolve(w.sgl, w.opcode == Opcode.RDMA_READ ? AccessFlags.LOCAL_WRITE : 0,
                w.opcode == Opcode.RDMA_READ ? destination : source);
        Qp responder = engine.qp(qp.remote());
        if (!ok) {
            qp.counters().increment(Counter.PROTECTION_FAULTS);
            fail(qp, w, WcStatus.LOC_PROT_ERR);
            return false;
        }
        if (responder == null || !responder.serves(qp.address())) {
            fail(qp, w, WcStatus.RETRY_EXC_ERR);
            return false;
        }
        switch (w.opcode) {
            case RDMA_WRITE, RDMA_WRITE_WITH_IMM, RDMA_READ -> {
                int access = w.opcode == Opcode.RDMA_READ ? AccessFlags.REMOTE_READ : AccessFlags.REMOTE_WRITE;
                Region region = engine.byRkey(w.rkey);
                if (region == null || !region.allows(responder.pd(), w.remoteAddress, w.total, access)) {
                    responder.counters().increment(Counter.PROTECTION_FAULTS);
                    fail(qp, w, WcStatus.REM_ACCESS_ERR);
                    return false;
                }
                (w.opcode == Opcode.RDMA_READ ? source : destination)
                        .add(region, region.offsetOf(w.remoteAddress), (int) w.total);
            }
            default -> {
                if (!responder.resolve(qp.consumedRecv.sgl, AccessFlags.LOCAL_WRITE, destination)) {
                    failResponderBuffers(qp, w);
                    return false;
                }
            }
        }
        source.skip(w.done);
        destination.skip(w.done);
        current = qp;
        return true;
    }

    /** Before a chunk: are the regions still registered and the responder still connected? */
    private boolean stillReachable(Qp qp, SendWqe w) {
        boolean readsRemote = w.opcode == Opcode.RDMA_READ;
        SgCursor local = readsRemote ? destination : source;
        SgCursor remote = readsRemote ? source : destination;
        if (!local.allLive()) {
            qp.counters().increment(Counter.PROTECTION_FAULTS);
            fail(qp, w, WcStatus.LOC_PROT_ERR);
            return false;
        }
        Qp responder = engine.qp(qp.remote());
        if (responder == null || !responder.serves(qp.address())) {
            fail(qp, w, WcStatus.RETRY_EXC_ERR);
            return false;
        }
        if (!remote.allLive()) {
            if (w.opcode == Opcode.SEND || w.opcode == Opcode.SEND_WITH_IMM) {
                failResponderBuffers(qp, w);
            } else {
                responder.counters().increment(Counter.PROTECTION_FAULTS);
                fail(qp, w, WcStatus.REM_ACCESS_ERR);
            }
            return false;
        }
        return true;
    }

    /** The responder's receive buffers went away under a SEND: its receive fails, and so does the SEND. */
    private void failResponderBuffers(Qp qp, SendWqe w) {
        Qp responder = qp.responder;
        responder.counters().increment(Counter.PROTECTION_FAULTS);
        engine.states().complete(responder.recvCq(), responder, qp.consumedRecv.wrId, WcStatus.LOC_PROT_ERR,
                WcOpcode.RECV,
                0, false, 0);
        qp.responder = null;
        engine.states().enterError(responder);
        fail(qp, w, WcStatus.REM_OP_ERR);
    }

    private void finish(Qp qp, SendWqe w) {
        int length = (int) w.total;
        qp.countCompleted(w.opcode, length);
        Qp responder = qp.responder;
        if (responder != null && responder.live) {
            boolean withImm = w.opcode != Opcode.SEND;
            WcOpcode opcode = w.opcode == Opcode.RDMA_WRITE_WITH_IMM ? WcOpcode.RECV_RDMA_WITH_IMM : WcOpcode.RECV;
            responder.counters().increment(Counter.RECV_OPS);
            responder.counters().add(Counter.RECV_BYTES, length);
            engine.states().complete(responder.recvCq(), responder, qp.consumedRecv.wrId, WcStatus.SUCCESS, opcode,
                    length,
                    withImm, withImm ? w.imm : 0);
        }
        qp.responder = null;
        qp.sq.removeHead();
        qp.rnrRetriesLeft = qp.rnrRetry;
        current = null;
        source.reset();
        destination.reset();
        if (w.signaled(qp.signalAll())) {
            engine.states().complete(qp.sendCq(), qp, w.wrId, WcStatus.SUCCESS, WcOpcode.of(w.opcode), length, false,
                    0);
        }
        w.started = false;
    }

    /** Completes the head request with an error (always, signaled or not) and moves the queue pair to ERR. */
    private Outcome fail(Qp qp, SendWqe w, WcStatus status) {
        abandon(qp);
        source.reset();
        destination.reset();
        current = null;
        qp.sq.removeHead();
        engine.states().complete(qp.sendCq(), qp, w.wrId, status, WcOpcode.of(w.opcode), 0, false, 0);
        engine.states().enterError(qp);
        return Outcome.FAILED;
    }
}
