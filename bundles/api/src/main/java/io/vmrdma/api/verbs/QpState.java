package io.vmrdma.api.verbs;

/** Queue-pair states of a reliable connected queue pair, with libibverbs' numbering. */
public enum QpState {
    /** Just created or reset: no work may be posted. */
    RESET(0),
    /** Receives may be posted; nothing is processed. */
    INIT(1),
    /** Ready to receive: the remote queue pair is known, incoming requests are served. */
    RTR(2),
    /** Ready to send: both directions work. */
    RTS(3),
    /** Send queue drained: new sends wait. */
    SQD(4),
    /** Send queue error: a send failed; receives still work. */
    SQE(5),
    /** Error: all outstanding and new work completes with WR_FLUSH_ERR. */
    ERR(6);

    private final int value;

    QpState(int value) {
        this.value = value;
    }

    /** The libibverbs number of this state. */
    public int value() {
        return value;
    }

    /**
     * Whether a modify from this state to {@code next} is legal for a reliable connected queue pair, as the
     * InfiniBand specification's state diagram allows: any state to RESET or ERR; RESET to INIT; INIT to INIT or
     * RTR; RTR to RTS; RTS to RTS or SQD; SQD to SQD or RTS; SQE to RTS.
     */
    public boolean canModifyTo(QpState next) {
        if (next == RESET || next == ERR) {
            return true;
        }
        return switch (this) {
            case RESET -> next == INIT;
            case INIT -> next == INIT || next == RTR;
            case RTR -> next == RTS;
            case RTS -> next == RTS || next == SQD;
            case SQD -> next == SQD || next == RTS;
            case SQE -> next == RTS;
            case ERR -> false;
        };
    }
}
