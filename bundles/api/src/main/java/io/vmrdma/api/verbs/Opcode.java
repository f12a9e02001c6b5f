package io.vmrdma.api.verbs;

/** Send-queue work-request opcodes, with libibverbs' numbering. */
public enum Opcode {
    RDMA_WRITE(0),
    RDMA_WRITE_WITH_IMM(1),
    SEND(2),
    SEND_WITH_IMM(3),
    RDMA_READ(4);

    private static final Opcode[] BY_CODE = values();

    private final int code;

    Opcode(int code) {
        this.code = code;
    }

    /** The libibverbs number of this opcode. */
    public int code() {
        return code;
    }

    /** The opcode with this code, or null when there is none (a request to refuse). */
    public static Opcode ofCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }

    /** Whether the operation writes into the remote side's memory through an rkey. */
    public boolean isRdmaWrite() {
        return this == RDMA_WRITE || this == RDMA_WRITE_WITH_IMM;
    }

    /** Whether the operation consumes a receive work request at the remote side. */
    public boolean consumesRecv() {
        return this == SEND || this == SEND_WITH_IMM || this == RDMA_WRITE_WITH_IMM;
    }
}
