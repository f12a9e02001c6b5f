package io.vmrdma.api;

/**
 * Per-domain counters. The {@link #id()} of a counter is stable across releases: tools that store or export
 * counters (JMX, Prometheus) key them by id, and new counters only ever get new ids.
 */
public enum DomainCounter {
    /** Work requests posted on send queues. */
    SEND_WRS_POSTED(0),
    /** Work requests posted on receive queues. */
    RECV_WRS_POSTED(1),
    /** Payload bytes this domain sent (SEND, RDMA WRITE) or had read from it (RDMA READ responses). */
    TX_BYTES(2),
    /** Payload bytes placed into this domain's memory. */
    RX_BYTES(3),
    /** Work completions with status SUCCESS. */
    COMPLETIONS_OK(4),
    /** Work completions with any error status. */
    COMPLETIONS_ERROR(5),
    /** Accesses refused by a key, bound, access-flag, protection-domain or partition check. */
    PROTECTION_FAULTS(6),
    /** Requests from the guest that were malformed or out of range and were refused. */
    BAD_REQUESTS(7),
    /** Connection-manager events delivered to this domain. */
    CM_EVENTS(8);

    private final int id;

    DomainCounter(int id) {
        this.id = id;
    }

    /** The stable id of this counter. */
    public int id() {
        return id;
    }
}
