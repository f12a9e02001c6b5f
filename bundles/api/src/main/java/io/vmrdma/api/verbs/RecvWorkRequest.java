package io.vmrdma.api.verbs;

/** A receive-queue work request, as {@code ibv_recv_wr}. Mutable and reusable. */
public final class RecvWorkRequest {

    private long wrId;
    private final ScatterGatherList sgl = new ScatterGatherList();

    /** Resets every field so the request can be filled again. */
    public RecvWorkRequest clear() {
        wrId = 0;
        sgl.clear();
        return this;
    }

    /** The caller's id for this request, echoed in its completion. */
    public long wrId() {
        return wrId;
    }

    public RecvWorkRequest wrId(long wrId) {
        this.wrId = wrId;
        return this;
    }

    /** Where an incoming SEND is scattered to. */
    public ScatterGatherList sgl() {
        return sgl;
    }
}
