package io.vmrdma.engine.internal.verbs;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.engine.internal.status.Counters;

/**
 * One connection of the {@link ConnectionManager}, from its request to its close, with its {@link ConnectionState}
 * and this node's ends: the requesting queue pair, when the requester is a domain of this node, and the accepting
 * one, when the listener is. A request that crossed nodes keeps what its frames carry: the CM_REQUEST this node
 * repeats ({@link Sent}), or the CM_REQUEST another node sent and the CM_REPLY that answers it ({@link Received}).
 *
 * <p>Its state moves only by the transition methods, which refuse an event that {@link ConnectionState#after} does
 * not allow in the present state: the state stays, the refusal is counted ({@code INTERNAL_ERRORS}: a gap in the
 * connection manager's own checks, which look at what the wire and the verbs ask before they move a connection) and
 * nothing is thrown, so no frame can stop the duty cycle through it.
 */
final class Connection {

    /** What this node's CM_REQUEST to another node carries, repeated until answered. */
    record Sent(int node, int[] pkeys, byte[] privateData, byte[] name, int initialPsn) {
    }

    /** What another node's CM_REQUEST carried: its requester, by that node's connection id and its queue pair. */
    record Received(int node, long theirId, QpAddress requester, String requesterName, int requesterPsn) {
    }

    /** This node's CM_REPLY to a {@link Received} request, sent again for each repeat of it. */
    record Reply(int psn, byte[] privateData) {
    }

    private final long id;
    private final long serviceId;
    private final Listener listener;
    private final long deadlineNanos;
    private final Counters counters;
    private final Sent sent;
    private final Received received;
    private final Qp requester;
    private ConnectionState state;
    private int pkey;
    private Qp acceptor;
    private Reply reply;
    private long repeatNanos;

    private Connection(long id, long serviceId, Listener listener, ConnectionState state, int pkey, Qp requester,
                       Sent sent, Received received, long deadlineNanos, Counters counters) {
        this.id = id;
        this.serviceId = serviceId;
        this.listener = listener;
        this.state = state;
        this.pkey = pkey;
        this.requester = requester;
        this.sent = sent;
        this.received = received;
        this.deadlineNanos = deadlineNanos;
        this.counters = counters;
    }

    /** A request of {@code requester} to {@code listener}, both on this node, in partition {@code pkey}. */
    static Connection requested(long id, Qp requester, Listener listener, int pkey, long deadlineNanos,
                                Counters counters) {
        return new Connection(id, listener.serviceId(), listener, ConnectionState.REQUESTED, pkey, requester, null,
                null, deadlineNanos, counters);
    }

    /** A request of {@code requester} to service {@code serviceId} on another node; the partition is its to choose. */
    static Connection requestSent(long id, Qp requester, long serviceId, Sent request, long deadlineNanos,
                                  Counters counters) {
        return new Connection(id, serviceId, null, ConnectionState.REQUEST_SENT, -1, requester, request, null,
                deadlineNanos, counters);
    }

    /** A request from another node to {@code listener}, which this node lets into partition {@code pkey}. */
    static Connection requestReceived(long id, Listener listener, int pkey, Received request, long deadlineNanos,
                                      Counters counters) {
        return new Connection(id, listener.serviceId(), listener, ConnectionState.REQUEST_RECEIVED, pkey, null, null,
                request, deadlineNanos, counters);
    }

    /**
     * An established connection that migrated here with {@code end}, whose other end is on another node; {@code id}
     * is the one its domain knew it by.
     */
    static Connection carried(long id, Qp end, int pkey, Counters counters) {
        return new Connection(id, 0, null, ConnectionState.ESTABLISHED, pkey, end, null, null, 0, counters);
    }

    /** An established connection whose two ends came to be on this node when one of them migrated here. */
    static Connection joined(long id, Qp one, Qp other, int pkey, Counters counters) {
        Connection connection = carried(id, one, pkey, counters);
        connection.acceptor = other;
        return connection;
    }

    /**
     * The listener accepted with {@code queuePair}: a request within this node is established at once; one from
     * another node is {@link ConnectionState#ACCEPTED}, answered by {@code answer} now and on each repeat.
     */
    boolean accept(Qp queuePair, Reply answer) {
        if (!moveOn(ConnectionState.Event.ACCEPT)) {
            return false;
        }
        acceptor = queuePair;
        reply = received == null ? null : answer;
        return true;
    }

    /** The listener on another node answered this node's request with partition {@code chosen}. */
    boolean replied(int chosen) {
        if (!moveOn(ConnectionState.Event.REPLY)) {
            return false;
        }
        pkey = chosen;
        return true;
    }

    /** The requester on another node can no longer repeat its request: nothing is left to answer. */
    boolean repeatsOver() {
        return moveOn(ConnectionState.Event.REPEATS_OVER);
    }

    /** Rejected, unanswered, disconnected, or an end went away. */
    boolean close() {
        return moveOn(ConnectionState.Event.CLOSE);
    }

    private boolean moveOn(ConnectionState.Event event) {
        ConnectionState next = state.after(event);
        if (next == null) {
            counters.increment(Counter.INTERNAL_ERRORS);
            return false;
        }
        state = next;
        return true;
    }

    ConnectionState state() {
        return state;
    }

    /** The id this node's domains know the connection by; for a request from another node, not the id it sent. */
    long id() {
        return id;
    }

    long serviceId() {
        return serviceId;
    }

    /** The listener asked, when it is on this node; null for a request this node sent to another. */
    Listener listener() {
        return listener;
    }

    /** The partition the connection is in; -1 while a request sent to another node has no answer. */
    int pkey() {
        return pkey;
    }

    long deadlineNanos() {
        return deadlineNanos;
    }

    /** The requesting queue pair, when the requester is on this node; null otherwise. */
    Qp requester() {
        return requester;
    }

    /** The accepting queue pair, once a listener of this node accepted; null otherwise. */
    Qp acceptor() {
        return acceptor;
    }

    /** This node's end of the connection other than {@code end}, or null when the other end is on another node. */
    Qp otherEnd(Qp end) {
        return end == requester ? acceptor : requester;
    }

    /** The CM_REQUEST this node repeats, for a request it sent; null otherwise. */
    Sent sent() {
        return sent;
    }

    /** The CM_REQUEST another node sent, for a request it received; null otherwise. */
    Received received() {
        return received;
    }

    /** The CM_REPLY that answers each repeat of an accepted request from another node; null before the accept. */
    Reply reply() {
        return reply;
    }

    /** Whether the request should be sent again: {@link #repeatEvery} has passed since it last was. */
    boolean repeatDue(long nowNanos) {
        return nowNanos - repeatNanos >= 0;
    }

    /** The request is being sent now; it is due again {@code intervalNanos} later. */
    void repeatEvery(long nowNanos, long intervalNanos) {
        repeatNanos = nowNanos + intervalNanos;
    }

    @Override
    public String toString() {
        return "connection " + id + " (" + state + ")";
    }
}
