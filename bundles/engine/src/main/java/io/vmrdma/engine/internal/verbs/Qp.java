package io.vmrdma.engine.internal.verbs;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpAttributes;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.ScatterGatherList;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.engine.internal.status.Counters;
import io.vmrdma.engine.internal.transport.PayloadSpan;
import io.vmrdma.engine.internal.transport.WireEndpoint;
import io.vmrdma.engine.internal.transport.WireQp;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * A reliable connected queue pair: its state, its two work queues, and the state of the send request at the head
 * of its send queue while the engine moves it. Connected to another node, it is the transport's
 * {@link WireEndpoint}: the transport reads its requests, reaches its memory and completes its work through it.
 */
final class Qp implements QueuePair, WireEndpoint {

    private final VerbsEngine engine;
    private final DeviceVerbs owner;
    private final QpAddress address;
    private final Pd pd;
    private final Cq sendCq;
    private final Cq recvCq;
    private final int maxSge;
    private final boolean signalAll;
    private final Counters counters;
    /** The engine's cursor for the transport's memory accesses (one data agent: one access at a time). */
    private final SgCursor cursor;
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
    /** Whether this queue pair is in its domain's round-robin of queue pairs with send work. */
    private boolean scheduled;
    /** The connection manager's connection this queue pair is an end of, requested or up; null when none. */
    private Connection connection;
    /** For a SEND or WRITE_WITH_IMM in progress: the responder and the receive it consumed. */
    Qp responder;
    final RecvWqe consumedRecv = new RecvWqe();
    boolean live = true;
    /** The wire state when the remote queue pair is on another node; null otherwise. */
    private WireQp wire;

    Qp(VerbsEngine engine, DeviceVerbs owner, QpAddress address, Pd pd, Cq sendCq, Cq recvCq, int maxSendWr,
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
        this.cursor = engine.wireCursor();
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

    DeviceVerbs owner() {
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

    @Override
    public Counters counters() {
        return counters;
    }

    @Override
    public WireQp wire() {
        return wire;
    }

    /** Gives the queue pair new wire state (or none); the old one gives back its share of the peer's window. */
    void replaceWire(WireQp next) {
        if (wire != null) {
            wire.release();
        }
        wire = next;
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

    /** How many times a request is sent again after a timeout before it fails (0..7). */
    void retryCount(int count) {
        retryCount = count;
    }

    /** How many receiver-not-ready retries a request gets (7: without end); the head request gets them afresh. */
    void rnrRetry(int count) {
        rnrRetry = count;
        rnrRetriesLeft = count;
    }

    /** The head request gets its receiver-not-ready retries afresh. */
    void resetRnrRetries() {
        rnrRetriesLeft = rnrRetry;
    }

    /** Completes every queued request with WR_FLUSH_ERR, the send queue's first, oldest first, as verbs does in ERR. */
    void flushWork() {
        while (!sq.isEmpty()) {
            SendWqe wr = sq.head();
            sq.removeHead();
            engine.states().complete(sendCq, this, wr.wrId, WcStatus.WR_FLUSH_ERR, WcOpcode.of(wr.opcode), 0, false, 0);
        }
        while (!rq.isEmpty()) {
            RecvWqe recv = rq.head();
            rq.removeHead();
            engine.states().complete(recvCq, this, recv.wrId, WcStatus.WR_FLUSH_ERR, WcOpcode.RECV, 0, false, 0);
        }
    }

    /** Both work queues are emptied, without completions. */
    void dropWork() {
        sq.clear();
        rq.clear();
    }

    /** The connection this queue pair is an end of, requested or up; null when none. */
    Connection connection() {
        return connection;
    }

    /** The queue pair becomes an end of {@code requestedOrAccepted}, as its requester or its acceptor. */
    void joinConnection(Connection requestedOrAccepted) {
        connection = requestedOrAccepted;
    }

    /** The queue pair is no end of a connection any more: it closed, its request ended, or the queue pair was reset. */
    void leaveConnection() {
        connection = null;
    }

    /** The queue pair is destroyed: no verb reaches it any more. */
    void destroyed() {
        live = false;
    }

    /** Whether it is in RTS with requests in its send queue, and not paused: work for the send scheduler. */
    boolean readyToSend() {
        return state == QpState.RTS && !sq.isEmpty() && !owner.paused();
    }

    int maxSge() {
        return maxSge;
    }

    /** Whether it is in its domain's round-robin of queue pairs with send work. */
    boolean isScheduled() {
        return scheduled;
    }

    void scheduled(boolean inRoundRobin) {
        scheduled = inRoundRobin;
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
        refuseWhilePaused();
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
        engine.states().sendPosted(this);
    }

    @Override
    public void postRecv(RecvWorkRequest request) throws VerbsException {
        if (!live) {
            throw new VerbsException(VerbsErrno.EINVAL, this + " is destroyed");
        }
        if (state == QpState.RESET) {
            throw new VerbsException(VerbsErrno.EINVAL, "cannot post receives to " + this + " in RESET");
        }
        refuseWhilePaused();
        checkSge(request.sgl());
        if (rq.isFull()) {
            throw new VerbsException(VerbsErrno.ENOMEM, "receive queue of " + this + " is full");
        }
        rq.claim().copyFrom(request);
        rq.commit();
        counters.increment(Counter.RECV_WRS_POSTED);
        engine.states().recvPosted(this);
    }

    /** A paused domain's state is on its way to another node: a request posted now would be left behind. */
    private void refuseWhilePaused() throws VerbsException {
        if (owner.paused()) {
            throw new VerbsException(VerbsErrno.EBUSY, owner + " is paused for migration");
        }
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

    // ----------------------------------------------------------------------------------------------------------
    // The queue pair as the wire transport's endpoint

    @Override
    public boolean live() {
        return live;
    }

    @Override
    public boolean paused() {
        return owner.paused();
    }

    @Override
    public boolean inPartition(int key) {
        return engine.partitions().isMember(owner.name(), key);
    }

    @Override
    public int retryCount() {
        return retryCount;
    }

    @Override
    public boolean takeRnrRetry() {
        return rnrRetry == QpAttributes.INFINITE_RNR_RETRY || rnrRetriesLeft-- > 0;
    }

    @Override
    public int sendCapacity() {
        return sq.capacity();
    }

    @Override
    public int sendsQueued() {
        return sq.size();
    }

    @Override
    public Opcode sendOpcode(int k) {
        return sq.peek(k).opcode;
    }

    @Override
    public long sendLength(int k) {
        return sq.peek(k).sgl.totalLength();
    }

    @Override
    public long sendRemoteAddress(int k) {
        return sq.peek(k).remoteAddress;
    }

    @Override
    public int sendRkey(int k) {
        return sq.peek(k).rkey;
    }

    @Override
    public int sendImm(int k) {
        return sq.peek(k).imm;
    }

    @Override
    public WcStatus checkSend(int k) {
        SendWqe wr = sq.peek(k);
        if (wr.sgl.totalLength() > engine.limits().maxMessageBytes()) {
            return WcStatus.LOC_LEN_ERR;
        }
        return resolve(wr.sgl, localAccess(wr.opcode), null) ? null : WcStatus.LOC_PROT_ERR;
    }

    @Override
    public boolean openSend(int k, long offset) {
        SendWqe wr = sq.peek(k);
        if (!resolve(wr.sgl, localAccess(wr.opcode), cursor)) {
            return false;
        }
        cursor.skip(offset);
        return true;
    }

    /**
     * Resolves a scatter/gather list against this queue pair's protection domain: each entry's lkey must name a
     * region of it that allows {@code access} over the entry. The entries are laid end to end in {@code into}, which
     * is emptied first, and again at the first entry that does not resolve; a null {@code into} only checks.
     */
    boolean resolve(ScatterGatherList sgl, int access, SgCursor into) {
        if (into != null) {
            into.reset();
        }
        for (int i = 0; i < sgl.count(); i++) {
            Region region = engine.byLkey(sgl.lkey(i));
            if (region == null || !region.allows(pd, sgl.address(i), sgl.length(i), access)) {
                if (into != null) {
                    into.reset();
                }
                return false;
            }
            if (into != null) {
                into.add(region, region.offsetOf(sgl.address(i)), sgl.length(i));
            }
        }
        return true;
    }

    /** The access a request needs to its local buffers: a READ writes them. */
    private static int localAccess(Opcode opcode) {
        return opcode == Opcode.RDMA_READ ? AccessFlags.LOCAL_WRITE : 0;
    }

    @Override
    public void sendDone() {
        SendWqe wr = sq.head();
        sq.removeHead();
        rnrRetriesLeft = rnrRetry;
        int length = (int) wr.sgl.totalLength();
        countCompleted(wr.opcode, length);
        if (wr.signaled(signalAll)) {
            engine.states().complete(sendCq, this, wr.wrId, WcStatus.SUCCESS, WcOpcode.of(wr.opcode), length, false, 0);
        }
    }

    @Override
    public void sendFailed(WcStatus status) {
        SendWqe wr = sq.head();
        sq.removeHead();
        engine.states().complete(sendCq, this, wr.wrId, status, WcOpcode.of(wr.opcode), 0, false, 0);
        engine.states().enterError(this);
    }

    @Override
    public int recvsQueued() {
        return rq.size();
    }

    @Override
    public WcStatus openRecv(int k, int messageLength) {
        RecvWqe recv = rq.peek(k);
        if (messageLength > recv.sgl.totalLength()) {
            return WcStatus.LOC_LEN_ERR;
        }
        return resolve(recv.sgl, AccessFlags.LOCAL_WRITE, cursor) ? null : WcStatus.LOC_PROT_ERR;
    }

    @Override
    public void recvDone(WcOpcode opcode, int length, boolean hasImm, int imm) {
        RecvWqe recv = rq.head();
        rq.removeHead();
        counters.increment(Counter.RECV_OPS);
        engine.states().complete(recvCq, this, recv.wrId, WcStatus.SUCCESS, opcode, length, hasImm, imm);
    }

    @Override
    public void recvFailed(WcStatus status) {
        RecvWqe recv = rq.head();
        rq.removeHead();
        engine.states().complete(recvCq, this, recv.wrId, status, WcOpcode.RECV, 0, false, 0);
        engine.states().enterError(this);
    }

    @Override
    public boolean openRemote(int rkey, long address, int length, int access) {
        Region region = engine.byRkey(rkey);
        if (region == null || !region.allows(pd, address, length, access)) {
            return false;
        }
        cursor.reset();
        cursor.add(region, region.offsetOf(address), length);
        return true;
    }

    @Override
    public void skip(long bytes) {
        cursor.skip(bytes);
    }

    @Override
    public int copyOut(MutableDirectBuffer target, int at, int n) {
        return cursor.copyOut(target, at, n);
    }

    @Override
    public boolean spanOut(int n, PayloadSpan span) {
        return cursor.spanOut(n, span);
    }

    @Override
    public int copyIn(DirectBuffer source, int at, int n) {
        return cursor.copyIn(source, at, n);
    }

    @Override
    public String toString() {
        return "qp " + address.qpn() + " of dom " + address.domid();
    }
}
