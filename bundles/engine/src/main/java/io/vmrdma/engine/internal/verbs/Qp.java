package io.vmrdma.engine.internal.verbs;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpAttributes;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.ScatterGatherList;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.engine.internal.status.Counters;

/**
 * A reliable connected queue pair: its state, its two work queues, and the state of the send request at the head
 * of its send queue while the engine moves it.
 */
final class Qp implements QueuePair {

    private final VerbsEngine engine;
    private final DomainVerbs owner;
    private final QpAddress address;
    private final Pd pd;
    private final Cq sendCq;
    private final Cq recvCq;
    private final int maxSge;
    private final boolean signalAll;
    private final Counters counters;
    final WorkQueue<SendWqe> sq;
    final WorkQueue<RecvWqe> rq;

    private QpState state = QpState.RESET;
    private int pkey = -1;
    private QpAddress remote;
    int retryCount = 7;
    int rnrRetry = QpAttributes.INFINITE_RNR_RETRY;

    /** RNR retries left for the head request. */
    int rnrRetriesLeft;
    /** The head request may not be retried before this time (after an RNR NAK). */
    long notBeforeNanos;
    /** Whether this queue pair is in the engine's list of queue pairs with send work. */
    boolean scheduled;
    /** The connection-manager connection this queue pair belongs to, or 0. */
    long connectionId;
    /** For a SEND or WRITE_WITH_IMM in progress: the responder and the receive it consumed. */
    Qp responder;
    final RecvWqe consumedRecv = new RecvWqe();
    boolean live = true;
    /** The wire state when the remote queue pair is on another node; null otherwise. */
    WireQp wire;

    Qp(VerbsEngine engine, DomainVerbs owner, QpAddress address, Pd pd, Cq sendCq, Cq recvCq, int maxSendWr,
       int maxRecvWr, int maxSge, boolean signalAll) {
        this.engine = engine;
        this.owner = owner;
        this.address = address;
        this.pd = pd;
        this.sendCq = sendCq;
        this.recvCq = recvCq;
        this.maxSge = maxSge;
        this.signalAll = signalAll;
        this.counters = new Counters(owner.counters(), engine.counters());
        this.sq = new WorkQueue<>(maxSendWr, SendWqe::new);
        this.rq = new WorkQueue<>(maxRecvWr, RecvWqe::new);
    }

    @Override
    public QpAddress address() {
        return address;
    }

    @Override
    public QpState state() {
        return state;
    }

    @Override
    public int pkey() {
        return pkey;
    }

    @Override
    public QpAddress remote() {
        return remote;
    }

    DomainVerbs owner() {
        return owner;
    }

    Pd pd() {
        return pd;
    }

    Cq sendCq() {
        return sendCq;
    }

    Cq recvCq() {
        return recvCq;
    }

    boolean signalAll() {
        return signalAll;
    }

    Counters counters() {
        return counters;
    }

    void state(QpState next) {
        state = next;
    }

    void pkey(int value) {
        pkey = value;
    }

    void remote(QpAddress value) {
        remote = value;
    }

    /** Whether this queue pair accepts incoming requests from {@code requester}. */
    boolean serves(QpAddress requester) {
        return live && remote != null && remote.equals(requester)
                && (state == QpState.RTR || state == QpState.RTS || state == QpState.SQD);
    }

    @Override
    public void postSend(SendWorkRequest request) throws VerbsException {
        if (!live) {
            throw new VerbsException(VerbsErrno.EINVAL, this + " is destroyed");
        }
        if (state == QpState.RESET || state == QpState.INIT || state == QpState.RTR) {
            throw new VerbsException(VerbsErrno.EINVAL, "cannot post sends to " + this + " in " + state);
        }
        if (request.opcode() == null) {
            throw new VerbsException(VerbsErrno.EINVAL, "send work request without an opcode");
        }
        checkSge(request.sgl());
        if (sq.isFull()) {
            throw new VerbsException(VerbsErrno.ENOMEM, "send queue of " + this + " is full");
        }
        sq.claim().copyFrom(request);
        sq.commit();
        counters.increment(Counter.SEND_WRS_POSTED);
        engine.sendPosted(this);
    }

    @Override
    public void postRecv(RecvWorkRequest request) throws VerbsException {
        if (!live) {
            throw new VerbsException(VerbsErrno.EINVAL, this + " is destroyed");
        }
        if (state == QpState.RESET) {
            throw new VerbsException(VerbsErrno.EINVAL, "cannot post receives to " + this + " in RESET");
        }
        checkSge(request.sgl());
        if (rq.isFull()) {
            throw new VerbsException(VerbsErrno.ENOMEM, "receive queue of " + this + " is full");
        }
        rq.claim().copyFrom(request);
        rq.commit();
        counters.increment(Counter.RECV_WRS_POSTED);
        engine.recvPosted(this);
    }

    private void checkSge(ScatterGatherList sgl) throws VerbsException {
        if (sgl.count() > maxSge) {
            throw new VerbsException(VerbsErrno.EINVAL, sgl.count() + " scatter/gather entries, " + this
                    + " allows " + maxSge);
        }
        for (int i = 0; i < sgl.count(); i++) {
            if (sgl.length(i) < 0) {
                throw new VerbsException(VerbsErrno.EINVAL, "scatter/gather entry " + i + " has negative length");
            }
        }
    }

    /** Counts a request this queue pair completed as requester. */
    void countCompleted(io.vmrdma.api.verbs.Opcode opcode, int length) {
        switch (opcode) {
            case SEND, SEND_WITH_IMM -> {
                counters.increment(Counter.SEND_OPS);
                counters.add(Counter.SEND_BYTES, length);
            }
            case RDMA_WRITE, RDMA_WRITE_WITH_IMM -> {
                counters.increment(Counter.RDMA_WRITE_OPS);
                counters.add(Counter.RDMA_WRITE_BYTES, length);
            }
            case RDMA_READ -> {
                counters.increment(Counter.RDMA_READ_OPS);
                counters.add(Counter.RDMA_READ_BYTES, length);
            }
        }
    }

    @Override
    public String toString() {
        return "qp " + address.qpn() + " of dom " + address.domid();
    }
}
