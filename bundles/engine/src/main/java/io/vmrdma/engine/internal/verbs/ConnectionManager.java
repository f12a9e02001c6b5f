package io.vmrdma.engine.internal.verbs;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Node;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.Partitions;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.engine.internal.transport.CmFrames;
import io.vmrdma.engine.internal.transport.Peer;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameType;
import org.agrona.collections.Int2IntHashMap;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The connection manager, as rdma_cm: domains listen on service ids; a domain connects a queue pair to (node,
 * service id); the listener accepts with a queue pair of its own and the engine brings both to RTS, or rejects;
 * an unanswered request times out. Connections are only made within a partition both domains share.
 *
 * <p>Each connection is one {@link Connection}, whose {@link ConnectionState} this class moves as frames and verbs
 * arrive, after checking them; its tables only find the requests in progress by what the exchange names them by.
 * It changes queue pairs only through their own methods, and frames are encoded and decoded by {@link CmFrames}.
 *
 * <p>What a flood of requests can cost is bounded: a request waits for its listener at most the connect timeout; at
 * most {@link #MAX_WAITING_PER_LISTENER} wait for one listener and {@link #MAX_WAITING_PER_PEER} come from one other
 * node; a domain that leaves {@link #MAX_EVENTS_WAITING} connection events unpolled gets no further requests. What
 * is over a cap is refused at once and counted ({@code CM_REQUESTS_REFUSED}). Requests are found by hash, and expire
 * oldest first.
 *
 * <p>Partitions across nodes: a request carries the requesting domain's name and a reply the listener's, and each
 * node decides from its own partition table whether both domains are members; what the other node says about its
 * domain's partitions is only a wish.
 */
final class ConnectionManager {

    /** Requests from one other node that may wait for listeners on this node at once. */
    static final int MAX_WAITING_PER_PEER = 256;
    /** Requests that may wait for one listener's accept or reject: its backlog, as listen(2)'s. */
    static final int MAX_WAITING_PER_LISTENER = 128;
    /** Connection events a domain may leave unpolled before requests to its listeners are refused. */
    static final int MAX_EVENTS_WAITING = 1024;
    /** Service ids one domain may listen on at once. */
    static final int MAX_LISTENS_PER_DOMAIN = 64;
    /** Longest domain name, in UTF-8 bytes, a request or reply carries (its length is one byte). */
    static final int MAX_NAME_BYTES = 255;
    private static final long REPEAT_NANOS = 100_000_000L;
    private static final int MAX_PKEYS = 8;

    private final VerbsEngine engine;
    private final SecureRandom random = new SecureRandom();
    private long timeoutNanos;
    private final Map<Long, Listener> listeners = new HashMap<>();
    /** Services each domain listens on, all its devices together. */
    private final Map<DomainVerbs, Integer> listensPerDomain = new IdentityHashMap<>();
    // Each connection's state is its own (Connection.state()); these index the connections in progress by what the
    // exchange looks them up by. An established connection is reached through its queue pairs only.
    /** REQUESTED and REQUEST_RECEIVED connections, by the id their listener is told, oldest first. */
    private final LinkedHashMap<Long, Connection> awaitingListener = new LinkedHashMap<>();
    /** REQUEST_SENT connections, by id: their requests are repeated until answered. */
    private final Map<Long, Connection> requestsSent = new HashMap<>();
    /**
     * Connections requested by other nodes, by (node, their id), oldest first, for the connect timeout from their
     * first arrival: REQUEST_RECEIVED, ACCEPTED, and CLOSED once ACCEPTED (a repeat still gets the reply).
     */
    private final LinkedHashMap<RemoteId, Connection> fromPeers = new LinkedHashMap<>();
    /** REQUEST_RECEIVED connections by the node that sent them, when there are any. */
    private final Int2IntHashMap waitingPerPeer = new Int2IntHashMap(0);

    ConnectionManager(VerbsEngine engine, long timeoutNanos) {
        this.engine = engine;
        this.timeoutNanos = timeoutNanos;
    }

    void timeoutNanos(long nanos) {
        if (nanos < 1) {
            throw new IllegalArgumentException("connect timeout must be positive");
        }
        timeoutNanos = nanos;
    }

    void listen(DeviceVerbs device, long serviceId) throws VerbsException {
        Listener holder = listeners.get(serviceId);
        if (holder != null) {
            throw new VerbsException(VerbsErrno.EEXIST, "service " + serviceId + " on node " + engine.nodeId()
                    + " is already taken by " + (holder.device() == device ? "this device"
                            : holder.device().domain() == device.domain() ? "another device of this domain"
                            : "another domain"));
        }
        int listens = listensPerDomain.getOrDefault(device.domain(), 0);
        if (listens >= MAX_LISTENS_PER_DOMAIN) {
            throw new VerbsException(VerbsErrno.EDQUOT,
                    device.domain() + " listens on " + listens + " services already, the most"
                            + " a domain may");
        }
        listeners.put(serviceId, new Listener(device, serviceId));
        listensPerDomain.put(device.domain(), listens + 1);
    }

    /** The services {@code device} listens on. */
    List<Long> servicesOf(DeviceVerbs device) {
        List<Long> services = new ArrayList<>();
        for (Listener listener : listeners.values()) {
            if (listener.device() == device) {
                services.add(listener.serviceId());
            }
        }
        return services;
    }

    /**
     * Whether a connection request of {@code device}, or to one of its listeners, is still unanswered. One accepted
     * but still answering repeats of its request counts as up.
     */
    boolean requestsInProgress(DeviceVerbs device) {
        for (Connection c : requestsSent.values()) {
            if (c.requester().owner() == device) {
                return true;
            }
        }
        for (Connection c : fromPeers.values()) {
            if (c.listener().device() == device && c.state().isRequest()) {
                return true;
            }
        }
        for (Connection c : awaitingListener.values()) {
            if (c.listener().device() == device || c.requester().owner() == device) {
                return true;
            }
        }
        return false;
    }

    void stopListening(DeviceVerbs device, long serviceId) throws VerbsException {
        Listener listener = listeners.get(serviceId);
        if (listener == null || listener.device() != device) {
            throw new VerbsException(VerbsErrno.ENOENT, device + " does not listen on service " + serviceId);
        }
        listeners.remove(serviceId);
        listenStopped(device);
    }

    private void listenStopped(DeviceVerbs device) {
        listensPerDomain.computeIfPresent(device.domain(), (d, n) -> n == 1 ? null : n - 1);
    }

    long connect(Qp qp, int node, long serviceId, int pkey, byte[] privateData) throws VerbsException {
        checkPrivateData(privateData);
        if (qp.state() != QpState.RESET || qp.connection() != null) {
            throw new VerbsException(VerbsErrno.EINVAL, qp + " must be in RESET and unconnected to connect, not "
                    + qp.state());
        }
        long id = newId();
        if (node != engine.nodeId()) {
            return connectRemote(qp, id, node, serviceId, pkey, privateData);
        }
        DeviceVerbs client = qp.owner();
        Listener listener = listeners.get(serviceId);
        if (listener == null) {
            client.deliver(CmEventType.REJECTED, id, serviceId, qp.address().qpn(), null, pkey,
                    "nobody listens on service " + serviceId + " at node " + node, null);
            return id;
        }
        DeviceVerbs server = listener.device();
        PartitionTable partitions = engine.partitions();
        int chosen = pkey == -1 ? partitions.firstShared(client.name(), server.name()) : pkey;
        if (chosen == -1 || !partitions.isMember(client.name(), chosen)
                || !partitions.isMember(server.name(), chosen)) {
            qp.counters().increment(Counter.PARTITION_VIOLATIONS);
            client.deliver(CmEventType.REJECTED, id, serviceId, qp.address().qpn(), null, pkey,
                    pkey == -1 ? "no partition shared with the listener"
                            : "not both in partition 0x" + Integer.toHexString(pkey),
                    null);
            return id;
        }
        String full = refusal(listener, -1);
        if (full != null) {
            client.deliver(CmEventType.REJECTED, id, serviceId, qp.address().qpn(), null, pkey, full, null);
            return id;
        }
        Connection connection = Connection.requested(id, qp, listener, chosen, engine.now() + timeoutNanos,
                engine.counters());
        qp.joinConnection(connection);
        startWaiting(connection);
        server.deliver(CmEventType.CONNECT_REQUEST, id, serviceId, -1, qp.address(), chosen, "", privateData);
        return id;
    }

    void accept(DeviceVerbs server, long connectionId, Qp qp, byte[] privateData) throws VerbsException {
        checkPrivateData(privateData);
        Connection connection = awaitingListener.get(connectionId);
        if (connection == null || connection.listener().device() != server) {
            throw new VerbsException(VerbsErrno.ENOENT, "no connection request " + connectionId + " for " + server);
        }
        checkAcceptor(qp);
        if (connection.received() != null) {
            acceptRemote(server, connection, qp, privateData);
            return;
        }
        int pkey = connection.pkey();
        if (!engine.partitions().isMember(server.name(), pkey)) {
            throw new VerbsException(VerbsErrno.EPERM, server + " left partition 0x" + Integer.toHexString(pkey));
        }
        stopWaiting(connection);
        Qp client = connection.requester();
        if (!client.live() || client.connection() != connection || client.state() != QpState.RESET
                || !connection.accept(qp, null)) {
            connection.close();
            if (client.connection() == connection) {
                client.leaveConnection();
            }
            throw new VerbsException(VerbsErrno.ENOENT, "the requester of connection " + connectionId + " has gone");
        }
        engine.states().bringUp(qp, pkey, client.address());
        engine.states().bringUp(client, pkey, qp.address());
        qp.joinConnection(connection);
        long serviceId = connection.serviceId();
        client.owner().deliver(CmEventType.ESTABLISHED, connectionId, serviceId, client.address().qpn(),
                qp.address(), pkey, "", privateData);
        server.deliver(CmEventType.ESTABLISHED, connectionId, serviceId, qp.address().qpn(), client.address(),
                pkey, "", null);
    }

    void reject(DeviceVerbs server, long connectionId, String reason) throws VerbsException {
        String why = reason == null || reason.isEmpty() ? "rejected by the listener" : reason;
        Connection connection = awaitingListener.get(connectionId);
        if (connection == null || connection.listener().device() != server) {
            throw new VerbsException(VerbsErrno.ENOENT, "no connection request " + connectionId + " for " + server);
        }
        stopWaiting(connection);
        Connection.Received request = connection.received();
        if (request == null) {
            endRequest(connection, CmEventType.REJECTED, why);
            return;
        }
        fromPeers.remove(new RemoteId(request.node(), request.theirId()));
        connection.close();
        sendReject(request.node(), request.theirId(), request.requester().qpn(), why);
    }

    /** Closes the connection of {@code qp}, if it has one: both queue pairs go to ERR, both owners are told. */
    void disconnect(Qp qp) {
        close(qp, false);
    }

    /**
     * {@code qp} is being destroyed: the other side of its connection, if it has one, is told. Its own work goes
     * without completions, as verbs' destroy does.
     */
    void destroying(Qp qp) {
        close(qp, true);
    }

    private void close(Qp qp, boolean destroying) {
        Connection connection = qp.connection();
        if (connection == null || !connection.state().isUp()) {
            return;
        }
        long id = connection.id();
        QpAddress remote = qp.remote();
        connection.close();
        qp.leaveConnection();
        if (!destroying) {
            engine.states().enterError(qp);
            qp.owner().deliver(CmEventType.DISCONNECTED, id, 0, qp.address().qpn(), remote, qp.pkey(),
                    "closed by this side", null);
        }
        if (remote.node() != engine.nodeId()) {
            sendDisconnect(remote, qp, FrameType.DISCONNECT_REQUEST);
            return;
        }
        Qp peer = connection.otherEnd(qp);
        if (peer != null && peer.live() && peer.connection() == connection) {
            peer.leaveConnection();
            engine.states().enterError(peer);
            peer.owner().deliver(CmEventType.DISCONNECTED, id, 0, peer.address().qpn(), qp.address(), peer.pkey(),
                    "closed by the peer", null);
        }
    }

    /** Whether a connection request is under way, sent or received: {@link #expire} then has timers to run. */
    boolean inFlight() {
        return !requestsSent.isEmpty() || !awaitingListener.isEmpty() || !fromPeers.isEmpty();
    }

    /** Times out unanswered requests, local and remote, and repeats ours to other nodes; returns how many. */
    int expire(long now) {
        // Runs every duty cycle: an empty table is skipped, so that a quiet cycle allocates no iterator.
        int work = requestsSent.isEmpty() ? 0 : expireSent(now);
        work += awaitingListener.isEmpty() ? 0 : expireAwaiting(now);
        return work + (fromPeers.isEmpty() ? 0 : expireFromPeers(now));
    }

    /** Requests no listener of this node answered in time, oldest first. */
    private int expireAwaiting(long now) {
        int work = 0;
        for (Iterator<Connection> it = awaitingListener.values().iterator(); it.hasNext();) {
            Connection connection = it.next();
            if (now - connection.deadlineNanos() < 0) {
                break;
            }
            it.remove();
            release(connection);
            Connection.Received request = connection.received();
            if (request == null) {
                endRequest(connection, CmEventType.UNREACHABLE, "no answer from the listener in time");
            } else {
                fromPeers.remove(new RemoteId(request.node(), request.theirId()));
                connection.close();
            }
            work++;
        }
        return work;
    }

    /**
     * A request from another node, once accepted, is kept for the connect timeout: the requester repeats it until
     * answered or until its own timeout, and a repeat of an accepted one gets the same reply again.
     */
    private int expireFromPeers(long now) {
        int work = 0;
        for (Iterator<Connection> it = fromPeers.values().iterator(); it.hasNext();) {
            Connection connection = it.next();
            if (now - connection.deadlineNanos() < 0) {
                break;
            }
            it.remove();
            if (connection.state() == ConnectionState.ACCEPTED) {
                connection.repeatsOver();
            }
            work++;
        }
        return work;
    }

    /** Drops the listeners and requests of a device that is going away, telling the other sides. */
    void forget(DeviceVerbs domain) {
        for (Iterator<Listener> it = listeners.values().iterator(); it.hasNext();) {
            if (it.next().device() == domain) {
                it.remove();
                listenStopped(domain);
            }
        }
        for (Iterator<Connection> it = requestsSent.values().iterator(); it.hasNext();) {
            Connection connection = it.next();
            if (connection.requester().owner() == domain) {
                it.remove();
                connection.close();
            }
        }
        for (Iterator<Connection> it = fromPeers.values().iterator(); it.hasNext();) {
            Connection connection = it.next();
            if (connection.listener().device() == domain) {
                it.remove();
                Connection.Received request = connection.received();
                if (connection.state() == ConnectionState.REQUEST_RECEIVED) {
                    stopWaiting(connection);
                    connection.close();
                    sendReject(request.node(), request.theirId(), request.requester().qpn(),
                            "the listener's domain went away");
                } else if (connection.state() == ConnectionState.ACCEPTED) {
                    connection.repeatsOver();
                }
            }
        }
        for (Iterator<Connection> it = awaitingListener.values().iterator(); it.hasNext();) {
            Connection connection = it.next();
            boolean listenerGone = connection.listener().device() == domain;
            if (connection.state() == ConnectionState.REQUESTED
                    && (listenerGone || connection.requester().owner() == domain)) {
                it.remove();
                release(connection);
                if (listenerGone) {
                    endRequest(connection, CmEventType.REJECTED, "the listener's domain went away");
                } else {
                    connection.close();
                }
            }
        }
    }

    /**
     * Why {@code listener} cannot take another request now, from node {@code node} (-1: from this node), or null
     * when it can. A refusal is counted.
     */
    private String refusal(Listener listener, int node) {
        String why = null;
        if (node != -1 && waitingPerPeer.get(node) >= MAX_WAITING_PER_PEER) {
            why = "node " + node + " has " + MAX_WAITING_PER_PEER + " connection requests waiting at node "
                    + engine.nodeId() + " already";
        } else if (listener.waiting() >= MAX_WAITING_PER_LISTENER) {
            why = "service " + listener.serviceId() + " at node " + engine.nodeId() + " has "
                    + MAX_WAITING_PER_LISTENER + " connection requests waiting already";
        } else if (listener.device().cmEventsWaiting() >= MAX_EVENTS_WAITING) {
            why = "the listener of service " + listener.serviceId() + " at node " + engine.nodeId()
                    + " has not polled its connection events";
        }
        if (why != null) {
            listener.device().counters().increment(Counter.CM_REQUESTS_REFUSED);
        }
        return why;
    }

    /**
     * A new connection id: unpredictable (63 bits from a SecureRandom), so that nobody can name a connection they
     * were not told of, positive and not 0 (0 means "no connection"), and unlike every id a request in progress
     * here is looked up by. An established connection is always named together with its queue pair, so an id that
     * once served another cannot be taken for it.
     */
    /** A random initial PSN, as a connection's are: for wire connections a migration makes. */
    int freshPsn() {
        return random.nextInt();
    }

    /** A fresh connection id, as unpredictable as those of requests: for connections a migration splits or joins. */
    long freshId() {
        return newId();
    }

    private long newId() {
        long id;
        do {
            id = random.nextLong() & Long.MAX_VALUE;
        } while (id == 0 || awaitingListener.containsKey(id) || requestsSent.containsKey(id));
        return id;
    }

    private static void checkPrivateData(byte[] data) throws VerbsException {
        if (data != null && data.length > CmEvent.MAX_PRIVATE_DATA) {
            throw new VerbsException(VerbsErrno.EINVAL, "private data is at most " + CmEvent.MAX_PRIVATE_DATA
                    + " bytes, not " + data.length);
        }
    }

    private static void checkAcceptor(Qp qp) throws VerbsException {
        if (qp.state() != QpState.RESET || qp.connection() != null) {
            throw new VerbsException(VerbsErrno.EINVAL, qp + " must be in RESET and unconnected to accept, not "
                    + qp.state());
        }
    }

    /** The request now waits for its listener's answer, and counts against the listener's and its node's caps. */
    private void startWaiting(Connection connection) {
        awaitingListener.put(connection.id(), connection);
        connection.listener().requestArrived();
        Connection.Received request = connection.received();
        if (request != null) {
            fromPeers.put(new RemoteId(request.node(), request.theirId()), connection);
            waitingPerPeer.put(request.node(), waitingPerPeer.get(request.node()) + 1);
        }
    }

    /** The request no longer waits for its listener: it is answered (or its listener's domain is going away). */
    private void stopWaiting(Connection connection) {
        awaitingListener.remove(connection.id());
        release(connection);
    }

    /** A request that no longer waits gives back its place under the listener's and its node's caps. */
    private void release(Connection connection) {
        connection.listener().requestGone();
        Connection.Received request = connection.received();
        if (request != null) {
            int left = waitingPerPeer.get(request.node()) - 1;
            if (left == 0) {
                waitingPerPeer.remove(request.node());
            } else {
                waitingPerPeer.put(request.node(), left);
            }
        }
    }

    /**
     * Closes a request that did not become a connection, and tells its requester how it ended, unless its queue pair
     * went on to something else (reset, destroyed, or another connection).
     */
    private static void endRequest(Connection connection, CmEventType type, String reason) {
        connection.close();
        Qp client = connection.requester();
        if (client.live() && client.connection() == connection) {
            client.leaveConnection();
            client.owner().deliver(type, connection.id(), connection.serviceId(), client.address().qpn(), null,
                    connection.pkey(), reason, null);
        }
    }

    /** What the connections of this node's manager are in, for tests of its bookkeeping. */
    record Census(List<Connection> awaitingListener, List<Connection> requestsSent, List<Connection> fromPeers,
                  Map<Long, Integer> waitingPerListener, Map<Integer, Integer> waitingPerPeer) {
    }

    Census census() {
        Map<Long, Integer> perListener = new HashMap<>();
        listeners.forEach((service, listener) -> perListener.put(service, listener.waiting()));
        return new Census(new ArrayList<>(awaitingListener.values()), new ArrayList<>(requestsSent.values()),
                new ArrayList<>(fromPeers.values()), perListener, new HashMap<>(waitingPerPeer));
    }

    // ----------------------------------------------------------------------------------------------------------
    // Across nodes: CM_REQUEST, CM_REPLY, CM_REJECT, DISCONNECT_* frames, repeated until answered.

    /** A request as its requesting node names it: that node and its connection id. */
    private record RemoteId(int node, long id) {
    }

    private long connectRemote(Qp qp, long id, int node, long serviceId, int pkey, byte[] privateData) {
        DeviceVerbs client = qp.owner();
        Peer peer = engine.transport().peers().get(node);
        if (peer == null) {
            client.deliver(CmEventType.UNREACHABLE, id, serviceId, qp.address().qpn(), null, pkey,
                    "node " + node + " is not in the peer table of node " + engine.nodeId(), null);
            return id;
        }
        if (peer.version() != 0 && peer.version() != Node.PROTOCOL_VERSION) {
            client.deliver(CmEventType.REJECTED, id, serviceId, qp.address().qpn(), null, pkey,
                    "node " + node + " speaks vmrdma protocol " + peer.version() + ", this node speaks "
                            + Node.PROTOCOL_VERSION,
                    null);
            return id;
        }
        byte[] name = client.name().getBytes(StandardCharsets.UTF_8);
        if (name.length > MAX_NAME_BYTES) {
            client.deliver(CmEventType.REJECTED, id, serviceId, qp.address().qpn(), null, pkey, "a domain name of "
                    + name.length + " bytes cannot travel in a request (at most " + MAX_NAME_BYTES + ")", null);
            return id;
        }
        int[] mine = engine.partitions().partitionsOf(client.name());
        int[] offered = pkey == -1 ? Arrays.copyOf(mine, Math.min(mine.length, MAX_PKEYS))
                : engine.partitions().isMember(client.name(), pkey) ? new int[] {pkey} : new int[0];
        if (offered.length == 0) {
            qp.counters().increment(Counter.PARTITION_VIOLATIONS);
            client.deliver(CmEventType.REJECTED, id, serviceId, qp.address().qpn(), null, pkey,
                    pkey == -1 ? "this domain is in no partition" : "not in partition 0x" + Integer.toHexString(pkey),
                    null);
            return id;
        }
        Connection.Sent request = new Connection.Sent(node, offered,
                privateData == null ? new byte[0] : privateData.clone(), name, random.nextInt());
        Connection connection = Connection.requestSent(id, qp, serviceId, request, engine.now() + timeoutNanos,
                engine.counters());
        qp.joinConnection(connection);
        requestsSent.put(id, connection);
        sendRequest(connection);
        return id;
    }

    private int expireSent(long now) {
        int work = 0;
        for (Iterator<Connection> it = requestsSent.values().iterator(); it.hasNext();) {
            Connection connection = it.next();
            Qp qp = connection.requester();
            if (!qp.live() || qp.connection() != connection) {
                it.remove();
                connection.close();
            } else if (now - connection.deadlineNanos() >= 0) {
                it.remove();
                endRequest(connection, CmEventType.UNREACHABLE,
                        "no answer from node " + connection.sent().node() + " in time");
                work++;
            } else if (connection.repeatDue(now)) {
                sendRequest(connection);
                work++;
            }
        }
        return work;
    }

    private void acceptRemote(DeviceVerbs server, Connection connection, Qp qp, byte[] privateData)
            throws VerbsException {
        Connection.Received request = connection.received();
        if (!bothMembers(server.name(), request.requesterName(), connection.pkey())) {
            throw new VerbsException(VerbsErrno.EPERM, "not both " + server + " and " + request.requesterName()
                    + " are in partition 0x" + Integer.toHexString(connection.pkey()) + " any more");
        }
        if (server.name().getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
            throw new VerbsException(VerbsErrno.EINVAL, server + ": a domain name of more than " + MAX_NAME_BYTES
                    + " bytes cannot travel in a reply");
        }
        stopWaiting(connection);
        Connection.Reply reply = new Connection.Reply(random.nextInt(),
                privateData == null ? new byte[0] : privateData.clone());
        if (!connection.accept(qp, reply)) {
            throw new VerbsException(VerbsErrno.ENOENT, "no connection request " + connection.id() + " for " + server);
        }
        engine.states().bringUpRemote(qp, connection.pkey(), request.requester(), reply.psn(), request.requesterPsn());
        qp.wire().connectionId(request.theirId());
        qp.joinConnection(connection);
        sendReply(connection);
        server.deliver(CmEventType.ESTABLISHED, connection.id(), connection.serviceId(), qp.address().qpn(),
                request.requester(), connection.pkey(), "", null);
    }

    /** A connection-manager frame from {@code peer}, already checked for length, CRC and source. */
    void onWire(Peer peer, FrameType type, UnsafeBuffer rx, int at, int payloadLength) {
        long theirId = CmFrames.connectionId(rx, at);
        int payload = CmFrames.payload(type, at);
        switch (type) {
            case CM_REQUEST -> onRequest(peer, rx, at, theirId, payload, payloadLength);
            case CM_REPLY -> onReply(peer, rx, at, theirId, payload, payloadLength);
            case CM_REJECT -> {
                Connection connection = answered(peer, type, rx, at, theirId);
                if (connection != null) {
                    requestsSent.remove(theirId);
                    endRequest(connection, CmEventType.REJECTED, CmFrames.reason(rx, payload, payloadLength));
                }
            }
            case DISCONNECT_REQUEST -> onDisconnect(peer, rx, at, theirId);
            default -> {
                // DISCONNECT_REPLY: nothing waits for it
            }
        }
    }

    /**
     * A DISCONNECT_REQUEST: believed only with the connection id both ends know, from the connected peer node and
     * queue pair, in the queue pair's partition; anything else is dropped and counted. One that crosses ours
     * finds the connection closed already and changes nothing.
     */
    private void onDisconnect(Peer peer, UnsafeBuffer rx, int at, long id) {
        Qp qp = engine.qpByNumber(Frame.dstQpn(rx, at));
        if (qp == null || qp.wire() == null || qp.remote().node() != peer.node()
                || qp.remote().qpn() != Frame.srcQpn(rx, at) || qp.wire().connectionId() != id
                || qp.pkey() != Frame.pkey(rx, at)) {
            engine.counters().increment(Counter.CONTROL_FRAME_DROPS);
            return;
        }
        Connection connection = qp.connection();
        if (connection != null && connection.state().isUp()) {
            connection.close();
            qp.leaveConnection();
            engine.states().enterError(qp);
            qp.owner().deliver(CmEventType.DISCONNECTED, connection.id(), 0, qp.address().qpn(), qp.remote(),
                    qp.pkey(), "closed by the peer", null);
            sendDisconnect(qp.remote(), qp, FrameType.DISCONNECT_REPLY);
        }
    }

    /**
     * A CM_REQUEST. Payload: partition keys offered (count u8), private data (length u8), the keys (u16 each), the
     * private data, then the requesting domain's name (length u8, UTF-8; a frame that ends before it names none).
     */
    private void onRequest(Peer peer, UnsafeBuffer rx, int at, long theirId, int payload, int payloadLength) {
        RemoteId from = new RemoteId(peer.node(), theirId);
        Connection known = fromPeers.get(from);
        if (known != null) {
            if (known.reply() != null) {
                sendReply(known);
            }
            return;
        }
        int count = CmFrames.offeredCount(rx, payload, payloadLength);
        int privateLength = CmFrames.requestPrivateLength(rx, payload, payloadLength);
        int privateAt = CmFrames.requestPrivateData(payload, count);
        long serviceId = CmFrames.serviceOrDomid(rx, at);
        int clientDomid = CmFrames.domidOrPkey(rx, at);
        int clientPsn = CmFrames.initialPsn(rx, at);
        int clientQpn = Frame.srcQpn(rx, at);
        String clientName = payloadLength < 2 || count > MAX_PKEYS || privateLength > CmEvent.MAX_PRIVATE_DATA
                ? null : CmFrames.name(rx, privateAt + privateLength, payload + payloadLength);
        if (clientName == null || clientDomid < 0 || clientDomid > 0xFFFF || clientQpn < 0
                || clientQpn > VerbsEngine.MAX_QPN) {
            engine.counters().increment(Counter.MALFORMED_FRAMES);
            return;
        }
        Listener listener = listeners.get(serviceId);
        if (listener == null) {
            sendReject(peer.node(), theirId, clientQpn, "nobody listens on service " + serviceId + " at node "
                    + engine.nodeId());
            return;
        }
        int chosen = -1;
        for (int i = 0; i < count && chosen == -1; i++) {
            int candidate = CmFrames.offeredPkey(rx, payload, i);
            if (bothMembers(listener.device().name(), clientName, candidate)) {
                chosen = candidate;
            }
        }
        if (chosen == -1) {
            listener.device().counters().increment(Counter.PARTITION_VIOLATIONS);
            sendReject(peer.node(), theirId, clientQpn, "no partition of node " + engine.nodeId() + " holds both "
                    + clientName + " and the listener");
            return;
        }
        String full = refusal(listener, peer.node());
        if (full != null) {
            sendReject(peer.node(), theirId, clientQpn, full);
            return;
        }
        QpAddress client = new QpAddress(peer.node(), clientDomid, clientQpn);
        Connection connection = Connection.requestReceived(newId(), listener, chosen,
                new Connection.Received(peer.node(), theirId, client, clientName, clientPsn),
                engine.now() + timeoutNanos, engine.counters());
        startWaiting(connection);
        listener.device().deliver(CmEventType.CONNECT_REQUEST, connection.id(), serviceId, -1, client, chosen, "",
                CmFrames.bytes(rx, privateAt, privateLength));
    }

    /** Whether this node's partition table puts both domains, by name, in partition {@code pkey}. */
    private boolean bothMembers(String one, String other, int pkey) {
        PartitionTable partitions = engine.partitions();
        return Partitions.isValid(pkey) && partitions.isMember(one, pkey) && partitions.isMember(other, pkey);
    }

    /**
     * A CM_REPLY. Payload: private data (length u8, then the bytes), then the listening domain's name (length u8,
     * UTF-8; a frame that ends before it names none).
     */
    private void onReply(Peer peer, UnsafeBuffer rx, int at, long id, int payload, int payloadLength) {
        Connection connection = answered(peer, FrameType.CM_REPLY, rx, at, id);
        if (connection == null) {
            return;
        }
        int serverDomid = (int) CmFrames.serviceOrDomid(rx, at);
        int pkey = CmFrames.domidOrPkey(rx, at);
        int serverPsn = CmFrames.initialPsn(rx, at);
        int serverQpn = Frame.srcQpn(rx, at);
        int privateLength = CmFrames.replyPrivateLength(rx, payload, payloadLength);
        String serverName = privateLength > CmEvent.MAX_PRIVATE_DATA ? null
                : CmFrames.name(rx, payload + Math.min(payloadLength, 1) + privateLength, payload + payloadLength);
        if (serverName == null || serverDomid < 0 || serverDomid > 0xFFFF || serverQpn < 0
                || serverQpn > VerbsEngine.MAX_QPN) {
            engine.counters().increment(Counter.MALFORMED_FRAMES);
            return;
        }
        boolean offered = false;
        for (int k : connection.sent().pkeys()) {
            offered |= k == pkey;
        }
        Qp qp = connection.requester();
        requestsSent.remove(id);
        if (!qp.live() || qp.connection() != connection || qp.state() != QpState.RESET) {
            connection.close();
            return;
        }
        if (!offered || !bothMembers(qp.owner().name(), serverName, pkey)) {
            // The listener's node thinks otherwise (its table differs, or it lies): its queue pair is told to close.
            qp.counters().increment(Counter.PARTITION_VIOLATIONS);
            connection.close();
            qp.leaveConnection();
            sendDisconnect(peer.node(), serverQpn, qp.address().qpn(), pkey, id, FrameType.DISCONNECT_REQUEST);
            qp.owner().deliver(CmEventType.REJECTED, id, connection.serviceId(), qp.address().qpn(), null, pkey,
                    "no partition of node " + engine.nodeId() + " holds both this domain and " + serverName, null);
            return;
        }
        if (!connection.replied(pkey)) {
            return;
        }
        QpAddress server = new QpAddress(peer.node(), serverDomid, serverQpn);
        engine.states().bringUpRemote(qp, pkey, server, connection.sent().initialPsn(), serverPsn);
        qp.wire().connectionId(id);
        qp.owner().deliver(CmEventType.ESTABLISHED, id, connection.serviceId(), qp.address().qpn(), server, pkey, "",
                CmFrames.bytes(rx, payload + 1, privateLength));
    }

    /**
     * Our request that a CM_REPLY or CM_REJECT from {@code peer} answers: it must name one of ours by its connection
     * id, come from the node it went to, and be addressed to its queue pair. Anything else is dropped and counted,
     * except a repeated CM_REPLY of a connection it established (the listener answered two of our repeats).
     */
    private Connection answered(Peer peer, FrameType type, UnsafeBuffer rx, int at, long id) {
        int qpn = Frame.dstQpn(rx, at);
        Connection request = requestsSent.get(id);
        if (request != null && request.sent().node() == peer.node() && request.requester().address().qpn() == qpn) {
            return request;
        }
        Qp qp = engine.qpByNumber(qpn);
        boolean repeatedReply = type == FrameType.CM_REPLY && qp != null && qp.wire() != null
                && qp.wire().connectionId() == id && qp.remote().node() == peer.node();
        if (!repeatedReply) {
            engine.counters().increment(Counter.CONTROL_FRAME_DROPS);
        }
        return null;
    }

    private void sendRequest(Connection connection) {
        connection.repeatEvery(engine.now(), REPEAT_NANOS);
        Connection.Sent request = connection.sent();
        Peer peer = engine.transport().peers().get(request.node());
        if (peer != null) {
            Qp qp = connection.requester();
            engine.transport().cmFrames().sendRequest(peer, qp.address().qpn(), connection.id(),
                    connection.serviceId(), qp.owner().domid(), request.initialPsn(), request.pkeys(),
                    request.privateData(), request.name());
        }
    }

    private void sendReply(Connection connection) {
        Connection.Received request = connection.received();
        Peer peer = engine.transport().peers().get(request.node());
        if (peer != null) {
            DeviceVerbs server = connection.listener().device();
            engine.transport().cmFrames().sendReply(peer, connection.pkey(), request.requester().qpn(),
                    connection.acceptor().address().qpn(), request.theirId(), server.domid(),
                    connection.reply().psn(), connection.reply().privateData(),
                    server.name().getBytes(StandardCharsets.UTF_8));
        }
    }

    private void sendReject(int node, long theirId, int clientQpn, String reason) {
        Peer peer = engine.transport().peers().get(node);
        if (peer != null) {
            engine.transport().cmFrames().sendReject(peer, theirId, clientQpn, reason);
        }
    }

    private void sendDisconnect(QpAddress remote, Qp qp, FrameType type) {
        sendDisconnect(remote.node(), remote.qpn(), qp.address().qpn(), qp.pkey(), qp.wire().connectionId(), type);
    }

    private void sendDisconnect(int node, int dstQpn, int srcQpn, int pkey, long connectionId, FrameType type) {
        Peer peer = engine.transport().peers().get(node);
        if (peer != null) {
            engine.transport().cmFrames().sendDisconnect(peer, dstQpn, srcQpn, pkey, connectionId, type);
        }
    }
}
