package io.vmrdma.api.verbs;

/** What a queue pair is created with, as {@code ibv_qp_init_attr} for an RC queue pair. Mutable and reusable. */
public final class QpInitAttributes {

    private ProtectionDomain pd;
    private CompletionQueue sendCq;
    private CompletionQueue recvCq;
    private int maxSendWr = 128;
    private int maxRecvWr = 128;
    private int maxSge = 1;
    private boolean signalAll;

    public ProtectionDomain pd() {
        return pd;
    }

    public QpInitAttributes pd(ProtectionDomain pd) {
        this.pd = pd;
        return this;
    }

    public CompletionQueue sendCq() {
        return sendCq;
    }

    public QpInitAttributes sendCq(CompletionQueue sendCq) {
        this.sendCq = sendCq;
        return this;
    }

    public CompletionQueue recvCq() {
        return recvCq;
    }

    public QpInitAttributes recvCq(CompletionQueue recvCq) {
        this.recvCq = recvCq;
        return this;
    }

    /** Most send work requests outstanding at once. */
    public int maxSendWr() {
        return maxSendWr;
    }

    public QpInitAttributes maxSendWr(int maxSendWr) {
        this.maxSendWr = maxSendWr;
        return this;
    }

    /** Most receive work requests outstanding at once. */
    public int maxRecvWr() {
        return maxRecvWr;
    }

    public QpInitAttributes maxRecvWr(int maxRecvWr) {
        this.maxRecvWr = maxRecvWr;
        return this;
    }

    /** Most scatter/gather entries per work request, at most {@link ScatterGatherList#MAX_SGE}. */
    public int maxSge() {
        return maxSge;
    }

    public QpInitAttributes maxSge(int maxSge) {
        this.maxSge = maxSge;
        return this;
    }

    /** Whether every send work request completes signaled, whatever its flags ({@code sq_sig_all}). */
    public boolean signalAll() {
        return signalAll;
    }

    public QpInitAttributes signalAll(boolean signalAll) {
        this.signalAll = signalAll;
        return this;
    }
}
