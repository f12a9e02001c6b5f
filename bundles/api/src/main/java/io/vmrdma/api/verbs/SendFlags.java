package io.vmrdma.api.verbs;

/** Send work-request flags, with libibverbs' bit values. */
public final class SendFlags {
    /** Wait for earlier RDMA READs on this queue pair to complete first. */
    public static final int FENCE = 1;
    /** Generate a completion even on a queue pair that does not signal every request. */
    public static final int SIGNALED = 2;
    /** Ask the remote side to wake a waiter on its completion queue. */
    public static final int SOLICITED = 4;

    private SendFlags() {
    }
}
