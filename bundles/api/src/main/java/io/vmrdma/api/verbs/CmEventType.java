package io.vmrdma.api.verbs;

/** Connection-manager events, after {@code rdma_cm_event_type}. */
public enum CmEventType {
    /** A peer asks to connect to a service this domain listens on; answer with accept or reject. */
    CONNECT_REQUEST,
    /** The connection is up: both queue pairs are in RTS. */
    ESTABLISHED,
    /** The peer (or its engine) refused the connection; {@link CmEvent#reason()} says why. */
    REJECTED,
    /** No answer within the connection timeout. */
    UNREACHABLE,
    /** The connection was closed by either side; its queue pair is in ERR and its work flushed. */
    DISCONNECTED
}
