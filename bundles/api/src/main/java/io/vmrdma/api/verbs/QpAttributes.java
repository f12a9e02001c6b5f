package io.vmrdma.api.verbs;

/**
 * The attributes of a modify, as {@code ibv_qp_attr} with its mask: only what is set is changed. The connection
 * manager fills these itself; applications that connect out of band (as perftest does over TCP) set them by hand.
 * Mutable and reusable.
 */
public final class QpAttributes {

    /** The retry and RNR-retry count that means "retry for ever", as in verbs. */
    public static final int INFINITE_RNR_RETRY = 7;

    private QpState state;
    private QpAddress remote;
    private int pkey = -1;
    private int retryCount = -1;
    private int rnrRetry = -1;

    /** Clears every attribute. */
    public QpAttributes clear() {
        state = null;
        remote = null;
        pkey = -1;
        retryCount = -1;
        rnrRetry = -1;
        return this;
    }

    /** The state to move to, or null to keep the current one. */
    public QpState state() {
        return state;
    }

    public QpAttributes state(QpState state) {
        this.state = state;
        return this;
    }

    /** The remote queue pair (required for the move to RTR), or null. */
    public QpAddress remote() {
        return remote;
    }

    public QpAttributes remote(QpAddress remote) {
        this.remote = remote;
        return this;
    }

    /** The partition key (required for the move to INIT), or -1 when not set. */
    public int pkey() {
        return pkey;
    }

    public QpAttributes pkey(int pkey) {
        this.pkey = pkey;
        return this;
    }

    /** Transport retries before RETRY_EXC_ERR (0..7), or -1 when not set. */
    public int retryCount() {
        return retryCount;
    }

    public QpAttributes retryCount(int retryCount) {
        this.retryCount = retryCount;
        return this;
    }

    /** Receiver-not-ready retries before RNR_RETRY_EXC_ERR (0..7, 7 for ever), or -1 when not set. */
    public int rnrRetry() {
        return rnrRetry;
    }

    public QpAttributes rnrRetry(int rnrRetry) {
        this.rnrRetry = rnrRetry;
        return this;
    }
}
