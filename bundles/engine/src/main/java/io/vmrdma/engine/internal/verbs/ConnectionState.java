package io.vmrdma.engine.internal.verbs;

/**
 * Where a connection is in the connection manager's exchange, as this node sees it. The request states say where the
 * other end is, because the protocol treats them differently: a request between two domains of this node is answered
 * at once or times out; one this node sent to another node is repeated until answered; one another node sent is
 * remembered by its node and id so that repeats are recognised. Likewise an accepted request from another node stays
 * {@link #ACCEPTED} while the requester may still repeat it (it has no acknowledgement of the reply), and answers
 * each repeat with the same reply.
 *
 * <pre>
 *   REQUESTED ──────── ACCEPT ───────────────────────┐
 *   REQUEST_SENT ───── REPLY ────────────────────────┼──► ESTABLISHED
 *   REQUEST_RECEIVED ─ ACCEPT ─► ACCEPTED ─ REPEATS_OVER ─┘
 *   any state but CLOSED ─ CLOSE ─► CLOSED
 * </pre>
 */
enum ConnectionState {
    /** A domain of this node asked a listener of this node, which has not answered yet. */
    REQUESTED,
    /** A domain of this node asked a listener on another node: CM_REQUEST is repeated until an answer comes. */
    REQUEST_SENT,
    /** A domain on another node asked a listener of this node, which has not answered yet; repeats are ignored. */
    REQUEST_RECEIVED,
    /**
     * This node's listener accepted a request from another node: its queue pair is in RTS and the reply is sent again
     * for every repeat of the request, until the connect timeout from the request's arrival.
     */
    ACCEPTED,
    /** Both ends are in RTS as far as this node knows; nothing more is exchanged until one end closes. */
    ESTABLISHED,
    /** Rejected, unanswered in time, disconnected, or an end went away: the end of every connection. */
    CLOSED;

    /** What moves a connection on. */
    enum Event {
        /** The listener, on this node, accepted the request. */
        ACCEPT,
        /** The listener, on another node, accepted the request this node sent: its CM_REPLY came. */
        REPLY,
        /** The connect timeout has passed since an accepted request from another node came: it is not repeated. */
        REPEATS_OVER,
        /** Rejected, unanswered in time, disconnected, or an end went away. */
        CLOSE
    }

    /** The state {@code event} moves a connection in this state to, or null when it may not happen in this state. */
    ConnectionState after(Event event) {
        if (event == Event.CLOSE) {
            return this == CLOSED ? null : CLOSED;
        }
        return switch (this) {
            case REQUESTED -> event == Event.ACCEPT ? ESTABLISHED : null;
            case REQUEST_SENT -> event == Event.REPLY ? ESTABLISHED : null;
            case REQUEST_RECEIVED -> event == Event.ACCEPT ? ACCEPTED : null;
            case ACCEPTED -> event == Event.REPEATS_OVER ? ESTABLISHED : null;
            case ESTABLISHED, CLOSED -> null;
        };
    }

    /** Whether the request is still unanswered: the connection waits for a listener's accept or reject. */
    boolean isRequest() {
        return this == REQUESTED || this == REQUEST_SENT || this == REQUEST_RECEIVED;
    }

    /** Whether this node's queue pairs in the connection are up, each pointing at the other end. */
    boolean isUp() {
        return this == ACCEPTED || this == ESTABLISHED;
    }
}
