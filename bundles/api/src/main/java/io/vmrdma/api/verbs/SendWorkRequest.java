package io.vmrdma.api.verbs;

/** A send-queue work request, as {@code ibv_send_wr}. Mutable and reusable: fill, post, {@link #clear()}. */
public final class SendWorkRequest {

    private long wrId;
    private Opcode opcode = Opcode.SEND;
    private int sendFlags;
    private final ScatterGatherList sgl = new ScatterGatherList();
    private long remoteAddress;
    private int rkey;
    private int immData;

    /** Resets every field so the request can be filled again. */
    public SendWorkRequest clear() {
        wrId = 0;
        opcode = Opcode.SEND;
        sendFlags = 0;
        sgl.clear();
        remoteAddress = 0;
        rkey = 0;
        immData = 0;
        return this;
    }

    /** The caller's id for this request, echoed in its completion. */
    public long wrId() {
        return wrId;
    }

    public SendWorkRequest wrId(long wrId) {
        this.wrId = wrId;
        return this;
    }

    public Opcode opcode() {
        return opcode;
    }

    public SendWorkRequest opcode(Opcode opcode) {
        this.opcode = opcode;
        return this;
    }

    /** {@link SendFlags} bits. */
    public int sendFlags() {
        return sendFlags;
    }

    public SendWorkRequest sendFlags(int sendFlags) {
        this.sendFlags = sendFlags;
        return this;
    }

    /** The local buffers: gathered for SEND and WRITE, scattered into for READ. */
    public ScatterGatherList sgl() {
        return sgl;
    }

    /** Remote address for RDMA WRITE and READ. */
    public long remoteAddress() {
        return remoteAddress;
    }

    public SendWorkRequest remoteAddress(long remoteAddress) {
        this.remoteAddress = remoteAddress;
        return this;
    }

    /** Remote key for RDMA WRITE and READ. */
    public int rkey() {
        return rkey;
    }

    public SendWorkRequest rkey(int rkey) {
        this.rkey = rkey;
        return this;
    }

    /** Immediate data for the *_WITH_IMM opcodes, delivered in the receiver's completion. */
    public int immData() {
        return immData;
    }

    public SendWorkRequest immData(int immData) {
        this.immData = immData;
        return this;
    }
}
