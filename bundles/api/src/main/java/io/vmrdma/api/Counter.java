package io.vmrdma.api;

import io.vmrdma.api.verbs.WcStatus;

/**
 * The engine's counters. The same set is kept per node, per domain and per queue pair. The {@link #id()} of a
 * counter is stable across releases: tools that store or export counters (JMX, Prometheus) key them by id, and
 * new counters only ever get new ids.
 */
public enum Counter {
    /** SEND and SEND_WITH_IMM operations carried out (as requester). */
    SEND_OPS(0),
    /** Payload bytes of those operations. */
    SEND_BYTES(1),
    /** RDMA WRITE and RDMA_WRITE_WITH_IMM operations carried out (as requester). */
    RDMA_WRITE_OPS(2),
    RDMA_WRITE_BYTES(3),
    /** RDMA READ operations carried out (as requester). */
    RDMA_READ_OPS(4),
    RDMA_READ_BYTES(5),
    /** Receive work requests consumed by incoming SENDs and WRITE_WITH_IMMs (as responder). */
    RECV_OPS(6),
    /** Bytes placed into receive buffers. */
    RECV_BYTES(7),
    WC_SUCCESS(8),
    WC_LOC_LEN_ERR(9),
    WC_LOC_QP_OP_ERR(10),
    WC_LOC_PROT_ERR(11),
    WC_WR_FLUSH_ERR(12),
    WC_BAD_RESP_ERR(13),
    WC_LOC_ACCESS_ERR(14),
    WC_REM_INV_REQ_ERR(15),
    WC_REM_ACCESS_ERR(16),
    WC_REM_OP_ERR(17),
    WC_RETRY_EXC_ERR(18),
    WC_RNR_RETRY_EXC_ERR(19),
    WC_FATAL_ERR(20),
    WC_GENERAL_ERR(21),
    /** Accesses refused by a key, bound, access-flag or protection-domain check. */
    PROTECTION_FAULTS(22),
    /** Accesses or connections refused because the two sides share no partition. */
    PARTITION_VIOLATIONS(23),
    /** Malformed or out-of-range requests that were refused. */
    BAD_REQUESTS(24),
    /** Receiver-not-ready events: a SEND found no receive posted. */
    RNR_NAKS(25),
    /** Completion-queue overflows (an asynchronous error; the queue pairs on it go to ERR). */
    CQ_OVERFLOWS(26),
    CM_CONNECT_REQUESTS(27),
    CM_ESTABLISHED(28),
    CM_REJECTED(29),
    CM_UNREACHABLE(30),
    CM_DISCONNECTED(31),
    /** Work requests posted on send queues. */
    SEND_WRS_POSTED(32),
    /** Work requests posted on receive queues. */
    RECV_WRS_POSTED(33),
    /** Frames handed to the NIC binding. */
    FRAMES_SENT(34),
    /** Bytes of those frames, headers included. */
    FRAME_BYTES_SENT(35),
    /** Frames accepted from the wire (well-formed, for this node, from a known peer). */
    FRAMES_RECEIVED(36),
    FRAME_BYTES_RECEIVED(37),
    /** Data frames sent again after a timeout or a selective acknowledgement showed them missing. */
    RETRANSMISSIONS(38),
    /** Frames that arrived again after they had been received, dropped (and acknowledged again). */
    DUPLICATES_DROPPED(39),
    /** Frames whose header CRC32C did not match, dropped before anything in them was believed. */
    CRC_ERRORS(40),
    /** Frames with a sequence number outside the receive window, dropped. */
    OUT_OF_WINDOW_DROPS(41),
    /** Frames too short, of an unknown type or version, or whose lengths disagree, dropped. */
    MALFORMED_FRAMES(42),
    /** Frames from an unknown node, from a link address that is not that node's, or for another node, dropped. */
    UNKNOWN_SOURCE_DROPS(43),
    /** Frames for a queue pair that does not exist or is not connected to the sender, dropped. */
    UNKNOWN_QP_DROPS(44),
    /** Negative acknowledgements sent. */
    NAKS_SENT(45),
    /** Negative acknowledgements received. */
    NAKS_RECEIVED(46),
    /** Acknowledgements sent. */
    ACKS_SENT(47),
    /** Peers refused because they speak another protocol version. */
    VERSION_MISMATCHES(48),
    /**
     * Frames whose header was good but whose payload CRC32C did not match, dropped (they count among the frames
     * received); the sender retransmits them.
     */
    PAYLOAD_CRC_ERRORS(49),
    /**
     * HELLOs and HELLO_REPLYs naming a node of the peer table from a link address that is not that node's (a static
     * peer's, or a discovered peer's while it is up), dropped: the peer table is not changed by them. Since 0.2.0.
     */
    PEER_SPOOFS(50),
    /**
     * Control frames (CM_REPLY, CM_REJECT, DISCONNECT_REQUEST, ACK, NAK) that name a connection, queue pair or
     * sequence number the receiver never gave their sender (a connection id that is not theirs, an acknowledgement of
     * a PSN never sent), dropped: nothing changes. Since 0.6.0.
     */
    CONTROL_FRAME_DROPS(51),
    /**
     * Connection requests refused because the requesting node, the listener or the listener's event queue already
     * holds as many as it may. Since 0.6.0.
     */
    CM_REQUESTS_REFUSED(52),
    /**
     * Requests, queue pair turns and device turns the engine threw on unexpectedly: each was refused or its queue
     * pair or device failed, and the duty cycle went on. 0 on a healthy node. Since 0.6.0.
     */
    INTERNAL_ERRORS(53),
    /**
     * Frames refused by frame authentication: a tag that does not match the sender's key (forged or corrupted),
     * or a frame authenticated where this node has {@code auth = off}, or not where it has it on. Since 0.6.0.
     */
    AUTH_FAILURES(54),
    /**
     * Authenticated frames refused as replays: a frame counter already seen or too old for the window, or an epoch
     * that is not the sender's confirmed one (captured before it restarted). Since 0.6.0.
     */
    REPLAYS(55),
    /**
     * ACKs this node sent with flag PRESSURE, asking the peer to shrink its congestion window: its receive queue
     * stayed full for several polls, or the binding's receive drops rose. Since 0.8.0.
     */
    PRESSURE_ACKS_SENT(56),
    /** Domains this node migrated to another node (the move committed). Since 0.9.0. */
    MIGRATIONS_OUT(57),
    /** Domains that migrated to this node from another (the move committed). Since 0.9.0. */
    MIGRATIONS_IN(58),
    /**
     * Migrations that failed, counted on each node that saw them fail: refused, a partner silent or gone, a state
     * that could not be rebuilt. A failed migration leaves the domain running where it was. Since 0.9.0.
     */
    MIGRATIONS_FAILED(59),
    /** QP_MOVED notices followed: a queue pair's peer migrated and this one now sends to its new node. Since 0.9.0. */
    QP_MOVES(60),
    /**
     * QP_MOVED notices refused: not from the node the queue pair's peer is on, naming a connection that is not theirs
     * or a node this one does not know, or beyond the notices a node may send per second. Since 0.9.0.
     */
    QP_MOVES_REFUSED(61);

    private static final Counter[] BY_STATUS = new Counter[WcStatus.values().length];

    static {
        for (WcStatus status : WcStatus.values()) {
            BY_STATUS[status.ordinal()] = valueOf("WC_" + status.name());
        }
    }

    private final int id;

    Counter(int id) {
        this.id = id;
    }

    /** The stable id of this counter. */
    public int id() {
        return id;
    }

    /** The counter of completions with {@code status}. */
    public static Counter completions(WcStatus status) {
        return BY_STATUS[status.ordinal()];
    }
}
