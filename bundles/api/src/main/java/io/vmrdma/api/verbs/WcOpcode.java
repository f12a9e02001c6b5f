package io.vmrdma.api.verbs;

/** What a work completion completes, with libibverbs' numbering. */
public enum WcOpcode {
    SEND(0),
    RDMA_WRITE(1),
    RDMA_READ(2),
    RECV(128),
    RECV_RDMA_WITH_IMM(129);

    private final int code;

    WcOpcode(int code) {
        this.code = code;
    }

    /** The libibverbs number of this completion opcode. */
    public int code() {
        return code;
    }

    /** The completion opcode for a send-queue request with this opcode. */
    public static WcOpcode of(Opcode opcode) {
        return switch (opcode) {
            case SEND, SEND_WITH_IMM -> SEND;
            case RDMA_WRITE, RDMA_WRITE_WITH_IMM -> RDMA_WRITE;
            case RDMA_READ -> RDMA_READ;
        };
    }
}
