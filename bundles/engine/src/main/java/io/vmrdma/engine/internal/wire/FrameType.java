package io.vmrdma.engine.internal.wire;

/**
 * Frame types, their codes on the wire and the length of their extension header. Unknown codes are dropped and
 * counted.
 */
public enum FrameType {
    /** Node hello: protocol version, MTU, incarnation. Answered by HELLO_REPLY. */
    HELLO(0x01, 16),
    HELLO_REPLY(0x02, 16),
    /**
     * RDMA WRITE (and WRITE_WITH_IMM) data: this packet's remote address, rkey, message length, last PSN, imm,
     * message sequence number.
     */
    WRITE(0x10, 32),
    /** SEND (and SEND_WITH_IMM) data: offset in the message, message length, last PSN, imm, message sequence number. */
    SEND(0x11, 24),
    /** RDMA READ request: remote address, rkey, length, segment size; reserves one PSN per response packet. */
    READ_REQUEST(0x12, 24),
    /** RDMA READ response data: offset in the read. */
    READ_RESPONSE(0x13, 8),
    /** Cumulative acknowledgement (aux) with a selective-acknowledgement bitmap of the next 64 PSNs. */
    ACK(0x20, 8),
    /** Negative acknowledgement of the PSN in aux: a reason code and, for receiver-not-ready, a delay. */
    NAK(0x21, 8),
    /** Connection manager: request, reply, reject, disconnect request and reply. */
    CM_REQUEST(0x30, 24),
    CM_REPLY(0x31, 24),
    CM_REJECT(0x32, 24),
    DISCONNECT_REQUEST(0x33, 24),
    DISCONNECT_REPLY(0x34, 24),
    /**
     * Migration of a domain between two nodes: one step of the exchange (offer, accept, state, state acknowledgement,
     * ready, commit, committed, abort), with the migration id, a byte offset and total, and the domid.
     */
    MIGRATE(0x40, 24),
    /** The queue pair named by the source QPN moved to another node: connection id and new node. */
    QP_MOVED(0x41, 16),
    /** A QP_MOVED was followed (or had been before). */
    QP_MOVED_ACK(0x42, 16);

    private static final FrameType[] BY_CODE = new FrameType[256];

    static {
        for (FrameType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    private final int code;
    private final int extensionLength;

    FrameType(int code, int extensionLength) {
        this.code = code;
        this.extensionLength = extensionLength;
    }

    public int code() {
        return code;
    }

    /** Bytes of extension header after the 32-byte base header. */
    public int extensionLength() {
        return extensionLength;
    }

    /** Where the payload starts, from the start of the frame. */
    public int headerLength() {
        return Frame.BASE_LENGTH + extensionLength;
    }

    /**
     * Whether the receiver copies this type's payload into a memory region, checking its CRC in the same pass; the
     * payload of every other type is checked before the frame is handled.
     */
    public boolean placesPayload() {
        return this == WRITE || this == SEND || this == READ_RESPONSE;
    }

    /** The type with this code, or null for a code this version does not know. */
    public static FrameType ofCode(int code) {
        return BY_CODE[code & 0xFF];
    }
}
