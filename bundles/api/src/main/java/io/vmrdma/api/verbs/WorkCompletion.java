package io.vmrdma.api.verbs;

/** One work completion, as {@code ibv_wc}. Mutable: {@link CompletionQueue#poll} fills it. */
public final class WorkCompletion {

    private long wrId;
    private WcStatus status = WcStatus.SUCCESS;
    private WcOpcode opcode = WcOpcode.SEND;
    private int byteLength;
    private int immData;
    private boolean withImm;
    private int qpn;

    /** Sets every field at once; used by the completion queue that fills this completion. */
    public WorkCompletion set(long wrId, WcStatus status, WcOpcode opcode, int byteLength, int qpn,
                              boolean withImm, int immData) {
        this.wrId = wrId;
        this.status = status;
        this.opcode = opcode;
        this.byteLength = byteLength;
        this.qpn = qpn;
        this.withImm = withImm;
        this.immData = immData;
        return this;
    }

    /** The id of the work request this completes. */
    public long wrId() {
        return wrId;
    }

    public WcStatus status() {
        return status;
    }

    /** What completed. Valid for receives even on error only as far as verbs promises: check {@link #status()}. */
    public WcOpcode opcode() {
        return opcode;
    }

    /** Bytes received (receive completions) or transferred. */
    public int byteLength() {
        return byteLength;
    }

    /** The local queue pair number. */
    public int qpn() {
        return qpn;
    }

    /** Whether {@link #immData()} carries immediate data from the sender. */
    public boolean withImm() {
        return withImm;
    }

    public int immData() {
        return immData;
    }

    @Override
    public String toString() {
        return "wc{wr_id=" + wrId + ", status=" + status + ", opcode=" + opcode + ", byte_len=" + byteLength
                + ", qp=" + qpn + (withImm ? ", imm=" + Integer.toUnsignedString(immData) : "") + '}';
    }
}
