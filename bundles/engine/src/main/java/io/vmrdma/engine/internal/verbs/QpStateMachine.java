package io.vmrdma.engine.internal.verbs;

import java.util.List;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpAttributes;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.engine.internal.status.LogBudget;
import io.vmrdma.engine.internal.transport.WireQp;

/**
 * The queue pair state machine, as verbs has it: RESET → INIT → RTR → RTS (and SQD, ERR), with what each move takes
 * (a partition key on the move to INIT, the remote queue pair on the move to RTR) and what it does (RESET forgets
 * everything, RTS makes send work eligible, ERR flushes every request with WR_FLUSH_ERR); the connection manager's
 * moves straight to RTS; and completions, whose overflow moves every queue pair on the completion queue to ERR.
 */
final class QpStateMachine {

    private final VerbsEngine engine;
    private final RequestProcessor processor;
    private final SendScheduler sender;
    /** One line a second for failures a tenant may cause on every turn; the rest counted. */
    private final LogBudget errors;

    QpStateMachine(VerbsEngine engine, RequestProcessor processor, SendScheduler sender, LogBudget errors) {
        this.engine = engine;
        this.processor = processor;
        this.sender = sender;
        this.errors = errors;
    }

    /** ibv_modify_qp: checks the move and its attributes, then makes it. */
    void modify(Qp qp, QpAttributes attributes) throws VerbsException {
        QpState current = qp.state();
        QpState next = attributes.state() == null ? current : attributes.state();
        if (!current.canModifyTo(next) && !(next == current && next == QpState.ERR)) {
            throw new VerbsException(VerbsErrno.EINVAL, "cannot modify " + qp + " from " + current + " to " + next);
        }
        int retry = attributes.retryCount();
        int rnr = attributes.rnrRetry();
        if (retry > 7 || rnr > 7 || retry < -1 || rnr < -1) {
            throw new VerbsException(VerbsErrno.EINVAL, "retry counts are 0..7");
        }
        int pkey = attributes.pkey();
        if (pkey != -1) {
            if (!(current == QpState.RESET || current == QpState.INIT) || next != QpState.INIT) {
                throw new VerbsException(VerbsErrno.EINVAL, "the partition key is set on the move to INIT only");
            }
            if (!engine.partitions().isMember(qp.owner().name(), pkey)) {
                qp.counters().increment(Counter.PARTITION_VIOLATIONS);
                throw new VerbsException(VerbsErrno.EPERM, qp.owner() + " is not in partition 0x"
                        + Integer.toHexString(pkey));
            }
        }
        if (attributes.remote() != null && !(next == QpState.RTR && current == QpState.INIT)) {
            throw new VerbsException(VerbsErrno.EINVAL, "the remote queue pair is set on the move to RTR only");
        }
        if (current == QpState.RESET && next == QpState.INIT && pkey == -1) {
            throw new VerbsException(VerbsErrno.EINVAL, "the move to INIT needs a partition key");
        }
        if (current == QpState.INIT && next == QpState.RTR && attributes.remote() == null) {
            throw new VerbsException(VerbsErrno.EINVAL, "the move to RTR needs the remote queue pair");
        }
        if (retry != -1) {
            qp.retryCount(retry);
        }
        if (rnr != -1) {
            qp.rnrRetry(rnr);
        }
        if (pkey != -1) {
            qp.pkey(pkey);
        }
        if (attributes.remote() != null) {
            qp.remote(attributes.remote());
            if (attributes.remote().node() != engine.nodeId()) {
                qp.replaceWire(new WireQp(qp, 0, 0));
            }
        }
        moveTo(qp, next);
    }

    /** Brings a queue pair to RTS, connected to a queue pair on another node, with the PSNs both ends start at. */
    void bringUpRemote(Qp qp, int pkey, QpAddress remote, int sendPsn, int receivePsn) {
        qp.replaceWire(new WireQp(qp, sendPsn, receivePsn));
        bringUp(qp, pkey, remote);
    }

    /** Brings a queue pair from RESET to RTS, connected to {@code remote}: the connection manager's modify. */
    void bringUp(Qp qp, int pkey, QpAddress remote) {
        qp.pkey(pkey);
        qp.remote(remote);
        qp.resetRnrRetries();
        moveTo(qp, QpState.RTS);
    }

    private void moveTo(Qp qp, QpState next) {
        switch (next) {
            case RESET -> {
                processor.abandon(qp);
                qp.dropWork();
                qp.remote(null);
                qp.pkey(-1);
                qp.leaveConnection();
                qp.replaceWire(null);
                qp.state(QpState.RESET);
            }
            case ERR -> enterError(qp);
            default -> {
                qp.state(next);
                if (next == QpState.RTS) {
                    sender.schedule(qp);
                }
            }
        }
    }

    /** A send was posted: it is scheduled, or flushed at once in ERR. */
    void sendPosted(Qp qp) {
        if (qp.state() == QpState.ERR) {
            qp.flushWork();
        } else {
            sender.schedule(qp);
        }
    }

    /** A receive was posted: flushed at once in ERR; a requester on this node waiting on receiver-not-ready may go. */
    void recvPosted(Qp qp) {
        if (qp.state() == QpState.ERR) {
            qp.flushWork();
            return;
        }
        Qp requester = engine.qp(qp.remote());
        if (requester != null) {
            requester.notBeforeNanos = 0;
        }
    }

    /** The queue pair is destroyed: its work goes without completions, its wire state gives back what it held. */
    void destroy(Qp qp) {
        processor.abandon(qp);
        qp.destroyed();
        if (qp.wire() != null) {
            qp.wire().release();
        }
        qp.dropWork();
    }

    /**
     * The engine threw on a queue pair's turn: a gap in its own checks that this queue pair's requests reached. The
     * queue pair goes to ERR (its work flushed, its peer told as for any error) and the duty cycle goes on, so one
     * tenant's bad luck or malice never stops the node.
     */
    void turnFailed(Qp qp, RuntimeException e) {
        qp.counters().increment(Counter.INTERNAL_ERRORS);
        errors.warn("{}: the engine failed on its turn, moved to ERR: {}", qp, e.toString());
        try {
            enterError(qp);
        } catch (RuntimeException again) {
            qp.state(QpState.ERR);
            qp.dropWork();
        }
    }

    /** Moves a queue pair to ERR and flushes all its work with WR_FLUSH_ERR, as verbs does. */
    void enterError(Qp qp) {
        processor.abandon(qp);
        if (qp.wire() != null) {
            qp.wire().release();
        }
        qp.state(QpState.ERR);
        qp.flushWork();
    }

    /** Posts a completion; an overflow moves every queue pair on that completion queue to ERR, once. */
    void complete(Cq cq, Qp qp, long wrId, WcStatus status, WcOpcode opcode, int byteLength, boolean hasImm,
                  int imm) {
        if (!cq.complete(qp, wrId, status, opcode, byteLength, hasImm, imm) && !cq.overflowHandled) {
            cq.overflowHandled = true;
            for (Qp other : List.copyOf(cq.owner().qps())) {
                if ((other.sendCq() == cq || other.recvCq() == cq) && other.state() != QpState.ERR) {
                    enterError(other);
                }
            }
        }
    }
}
