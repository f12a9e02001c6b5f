package io.vmrdma.engine.internal.verbs;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
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
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameType;
import io.vmrdma.engine.internal.transport.CmFrames;
import io.vmrdma.engine.internal.transport.Peer;
import org.agrona.collections.Int2IntHashMap;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The connection manager, as rdma_cm: domains listen on service ids; a domain connects a queue pair to (node,
 * service id); the listener accepts with a queue pair of its own and the engine brings both to RTS, or rejects;
 * an unanswered request times out. Connections are only made within a partition both domains share.
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
    private final Map<DomainVerbs, Integer> listensPerDomain = new IdentityHashMap<>();
    /** Requests between two domains of this node, by connection id, oldest first. */
    private final LinkedHashMap<Long, LocalRequest> local = new LinkedHashMap<>();
    /** Our requests to listeners on other nodes, by connection id. */
    private final Map<Long, Outgoing> outgoing = new HashMap<>();
    /** Requests from other nodes, waiting or accepted, by (node, their connection id), oldest first. */
    private final LinkedHashMap<RemoteId, Incoming> incoming = new LinkedHashMap<>();
    /** The requests from other nodes that wait for their listener, by the connection id the listener sees. */
    private final Map<Long, Incoming> waiting = new HashMap<>();
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

    void listen(DomainVerbs domain, long serviceId) throws VerbsException {
        Listener holder = listeners.get(serviceId);
        if (holder != null) {
            throw new VerbsException(VerbsErrno.EEXIST, "service " + serviceId + " on node " + engine.nodeId()
                    + " is already taken by " + (holder.domain == domain ? "this domain" : "another domain"));
        }
        int listens = listensPerDomain.getOrDefault(domain, 0);
        if (listens >= MAX_LISTENS_PER_DOMAIN) {
            throw new VerbsException(VerbsErrno.EDQUOT, domain + " listens on " + listens + " services already, the most"
                    + " a domain may");
        }
        listeners.put(serviceId, new Listener(domain, serviceId));
        listensPerDomain.put(domain, listens + 1);
    }

    void stopListening(DomainVerbs domain, long serviceId) throws VerbsException {
        Listener listener = listeners.get(serviceId);
        if (listener == null || listener.domain != domain) {
            throw new VerbsException(VerbsErrno.ENOENT, domain + " does not listen on service " + serviceId);
        }
        listeners.remove(serviceId);
        listensPerDomain.computeIfPresent(domain, (d, n) -> n == 1 ? null : n - 1);
    }

    long connect(Qp qp, int node, long serviceId, int pkey, byte[] privateData) throws VerbsException {
        checkPrivateData(privateData);
        if (qp.state() != QpState.RESET || qp.connectionId != 0) {
            throw new VerbsException(VerbsErrno.EINVAL, qp + " must be in RESET and unconnected to connect, not "
                    + qp.state());
        }
        long id = newId();
        if (node != engine.nodeId()) {
            return connectRemote(qp, id, node, serviceId, pkey, privateData);
        }
        DomainVerbs client = qp.owner();
        Listener listener = listeners.get(serviceId);
        if (listener == null) {
            client.deliver(CmEventType.REJECTED, id, serviceId, qp.address().qpn(), null, pkey,
                    "nobody listens on service " + serviceId + " at node " + node, null);
            return id;
        }
        DomainVerbs server = listener.domain;
        PartitionTable partitions = engine.partitions();
        int chosen = pkey == -1 ? partitions.firstShared(client.name(), server.name()) : pkey;
        if (chosen == -1 || !partitions.isMember(client.name(), chosen)
                || !partitions.isMember(server.name(), chosen)) {
            qp.counters().increment(Counter.PARTITION_VIOLATIONS);
            client.deliver(CmEventType.REJECTED, id, serviceId, qp.address().qpn(), null, pkey,
                    pkey == -1 ? "no partition shared with the listener"
                            : "not both in partition 0x" + Integer.toHexString(pkey), null);
            return id;
        }
        String full = refusal(listener, -1);
        if (full != null) {
            client.deliver(CmEventType.REJECTED, id, serviceId, qp.address().qpn(), null, pkey, full, null);
            return id;
        }
        qp.connectionId = id;
        local.put(id, new LocalRequest(id, qp, listener, chosen, engine.now() + timeoutNanos));
        listener.waiting++;
        server.deliver(CmEventType.CONNECT_REQUEST, id, serviceId, -1, qp.address(), chosen, "", privateData);
        return id;
    }

    void accept(DomainVerbs server, long connectionId, Qp qp, byte[] privateData) throws VerbsException {
        checkPrivateData(privateData);
        Incoming remote = waiting.get(connectionId);
        if (remote != null) {
            acceptRemote(server, remote, qp, privateData);
            return;
        }
        LocalRequest request = local.get(connectionId);
        if (request == null || request.listener.domain != server) {
            throw new VerbsException(VerbsErrno.ENOENT, "no connection request " + connectionId + " for " + server);
        }
        checkAcceptor(qp);
        if (!engine.partitions().isMember(server.name(), request.pkey)) {
            throw new VerbsException(VerbsErrno.EPERM, server + " left partition 0x"
                    + Integer.toHexString(request.pkey));
        }
        stopWaiting(request);
        Qp client = request.client;
        if (!client.live || client.connectionId != connectionId || client.state() != QpState.RESET) {
            throw new VerbsException(VerbsErrno.ENOENT, "the requester of connection " + connectionId + " has gone");
        }
        engine.states().bringUp(qp, request.pkey, client.address());
        engine.states().bringUp(client, request.pkey, qp.address());
        qp.connectionId = connectionId;
        long serviceId = request.listener.serviceId;
        client.owner().deliver(CmEventType.ESTABLISHED, connectionId, serviceId, client.address().qpn(),
                qp.address(), request.pkey, "", privateData);
        server.deliver(CmEventType.ESTABLISHED, connectionId, serviceId, qp.address().qpn(), client.address(),
                request.pkey, "", null);
    }

    void reject(DomainVerbs server, long connectionId, String reason) throws VerbsException {
        String why = reason == null || reason.isEmpty() ? "rejected by the listener" : reason;
        Incoming remote = waiting.get(connectionId);
        if (remote != null && remote.listener.domain == server) {
            forgetIncoming(remote);
            sendReject(remote.from.node(), remote.from.id(), remote.client.qpn(), why);
            return;
        }
        LocalRequest request = local.get(connectionId);
        if (request == null || request.listener.domain != server) {
            throw new VerbsException(VerbsErrno.ENOENT, "no connection request " + connectionId + " for " + server);
        }
        stopWaiting(request);
        tellClient(request, CmEventType.REJECTED, why);
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
        if (qp.remote() == null || qp.connectionId == 0) {
            return;
        }
        long id = qp.connectionId;
        QpAddress remote = qp.remote();
        qp.connectionId = 0;
        if (!destroying) {
            engine.states().enterError(qp);
            qp.owner().deliver(CmEventType.DISCONNECTED, id, 0, qp.address().qpn(), remote, qp.pkey(),
                    "closed by this side", null);
        }
        if (remote.node() != engine.nodeId()) {
            sendDisconnect(remote, qp, FrameType.DISCONNECT_REQUEST);
            return;
        }
        Qp peer = engine.qp(remote);
        if (peer != null && peer.connectionId == id) {
            peer.connectionId = 0;
            engine.states().enterError(peer);
            peer.owner().deliver(CmEventType.DISCONNECTED, id, 0, peer.address().qpn(), qp.address(), peer.pkey(),
                    "closed by the peer", null);
        }
    }

    /** Times out unanswered requests, local and remote, and repeats ours to other nodes; returns how many. */
    int expire(long now) {
        int work = expireOutgoing(now);
        for (Iterator<LocalRequest> it = local.values().iterator(); it.hasNext(); ) {
            LocalRequest request = it.next();
            if (now - request.deadlineNanos < 0) {
                break;
            }
            it.remove();
            request.listener.waiting--;
            tellClient(request, CmEventType.UNREACHABLE, "no answer from the listener in time");
            work++;
        }
        // A request from another node, waiting or accepted, is kept for the connect timeout: the requester repeats
        // it until answered or until its own timeout, and a repeat of an accepted one gets the same reply again.
        for (Iterator<Incoming> it = incoming.values().iterator(); it.hasNext(); ) {
            Incoming in = it.next();
            if (now - in.deadlineNanos < 0) {
                break;
            }
            it.remove();
            if (in.state == Incoming.State.WAITING) {
                stopWaiting(in);
            }
            work++;
        }
        return work;
    }

    /** Drops the listeners and requests of a domain that is going away, telling the other sides. */
    void forget(DomainVerbs domain) {
        listeners.values().removeIf(l -> l.domain == domain);
        listensPerDomain.remove(domain);
        outgoing.values().removeIf(o -> o.qp.owner() == domain);
        for (Iterator<Incoming> it = incoming.values().iterator(); it.hasNext(); ) {
            Incoming in = it.next();
            if (in.listener.domain == domain) {
                it.remove();
                if (in.state == Incoming.State.WAITING) {
                    stopWaiting(in);
                    sendReject(in.from.node(), in.from.id(), in.client.qpn(), "the listener's domain went away");
                }
            }
        }
        for (Iterator<LocalRequest> it = local.values().iterator(); it.hasNext(); ) {
            LocalRequest request = it.next();
            if (request.listener.domain == domain || request.client.owner() == domain) {
                it.remove();
                request.listener.waiting--;
                if (request.listener.domain == domain) {
                    tellClient(request, CmEventType.REJECTED, "the listener's domain went away");
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
        } else if (listener.waiting >= MAX_WAITING_PER_LISTENER) {
            why = "service " + listener.serviceId + " at node " + engine.nodeId() + " has "
                    + MAX_WAITING_PER_LISTENER + " connection requests waiting already";
        } else if (listener.domain.cmEventsWaiting() >= MAX_EVENTS_WAITING) {
            why = "the listener of service " + listener.serviceId + " at node " + engine.nodeId()
                    + " has not polled its connection events";
        }
        if (why != null) {
            listener.domain.counters().increment(Counter.CM_REQUESTS_REFUSED);
        }
        return why;
    }

    /**
     * A new connection id: unpredictable (63 bits from a SecureRandom), so that nobody can name a connection they
     * were not told of, positive and not 0 (0 means "no connection"), and unlike every id a request in progress
     * here is looked up by. An established connection is always named together with its queue pair, so an id that
     * once served another cannot be taken for it.
     */
    private long newId() {
        long id;
        do {
            id = random.nextLong() & Long.MAX_VALUE;
        } while (id == 0 || local.containsKey(id) || outgoing.containsKey(id) || waiting.containsKey(id));
        return id;
    }

    private static void checkPrivateData(byte[] data) throws VerbsException {
        if (data != null && data.length > CmEvent.MAX_PRIVATE_DATA) {
            throw new VerbsException(VerbsErrno.EINVAL, "private data is at most " + CmEvent.MAX_PRIVATE_DATA
                    + " bytes, not " + data.length);
        }
    }

    private static void checkAcceptor(Qp qp) throws VerbsException {
        if (qp.state() != QpState.RESET || qp.connectionId != 0) {
            throw new VerbsException(VerbsErrno.EINVAL, qp + " must be in RESET and unconnected to accept, not "
                    + qp.state());
        }
    }

    /** A domain listening on a service id, and how many requests wait for its answer. */
    private static final class Listener {
        final DomainVerbs domain;
        final long serviceId;
        int waiting;

        Listener(DomainVerbs domain, long serviceId) {
            this.domain = domain;
            this.serviceId = serviceId;
        }
    }

    /** A request between two domains of this node. */
    private record LocalRequest(long id, Qp client, Listener listener, int pkey, long deadlineNanos) {
    }

    /** The local request has its answer: it no longer waits for its listener. */
    private void stopWaiting(LocalRequest request) {
        local.remove(request.id);
        request.listener.waiting--;
    }

    /** Tells the client of a local request how it ended, unless its queue pair went on to something else. */
    private static void tellClient(LocalRequest request, CmEventType type, String reason) {
        Qp client = request.client;
        if (client.live && client.connectionId == request.id) {
            client.connectionId = 0;
            client.owner().deliver(type, request.id, request.listener.serviceId, client.address().qpn(), null,
                    request.pkey, reason, null);
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // Across nodes: CM_REQUEST, CM_REPLY, CM_REJECT, DISCONNECT_* frames, repeated until answered.

    /** A request of ours to another node. */
    private static final class Outgoing {
        final long id;
        final Qp qp;
        final int node;
        final long serviceId;
        final int[] pkeys;
        final byte[] privateData;
        final byte[] name;
        final int initialPsn;
        final long deadlineNanos;
        long repeatNanos;

        Outgoing(long id, Qp qp, int node, long serviceId, int[] pkeys, byte[] privateData, byte[] name,
                 int initialPsn, long deadlineNanos) {
            this.id = id;
            this.qp = qp;
            this.node = node;
            this.serviceId = serviceId;
            this.pkeys = pkeys;
            this.privateData = privateData;
            this.name = name;
            this.initialPsn = initialPsn;
            this.deadlineNanos = deadlineNanos;
        }
    }

    /** A request as its requesting node names it: that node and its connection id. */
    private record RemoteId(int node, long id) {
    }

    /** A request from another node: waiting for the listener, then, once accepted, kept to answer repeats. */
    private static final class Incoming {
        enum State { WAITING, ACCEPTED }

        final RemoteId from;
        /** The connection id the listener sees. */
        final long localId;
        final QpAddress client;
        final String clientName;
        final int clientPsn;
        final int pkey;
        final Listener listener;
        final long deadlineNanos;
        State state = State.WAITING;
        Qp qp;
        int serverPsn;
        byte[] privateData;

        Incoming(RemoteId from, long localId, QpAddress client, String clientName, int clientPsn, int pkey,
                 Listener listener, long deadlineNanos) {
            this.from = from;
            this.localId = localId;
            this.client = client;
            this.clientName = clientName;
            this.clientPsn = clientPsn;
            this.pkey = pkey;
            this.listener = listener;
            this.deadlineNanos = deadlineNanos;
        }
    }

    private void startWaiting(Incoming in) {
        incoming.put(in.from, in);
        waiting.put(in.localId, in);
        in.listener.waiting++;
        waitingPerPeer.put(in.from.node(), waitingPerPeer.get(in.from.node()) + 1);
    }

    /** The request no longer waits for its listener (accepted, rejected or expired). */
    private void stopWaiting(Incoming in) {
        waiting.remove(in.localId);
        in.listener.waiting--;
        int node = in.from.node();
        int left = waitingPerPeer.get(node) - 1;
        if (left == 0) {
            waitingPerPeer.remove(node);
        } else {
            waitingPerPeer.put(node, left);
        }
    }

    private void forgetIncoming(Incoming in) {
        incoming.remove(in.from);
        stopWaiting(in);
    }

    private long connectRemote(Qp qp, long id, int node, long serviceId, int pkey, byte[] privateData) {
        DomainVerbs client = qp.owner();
        Peer peer = engine.transport().peers().get(node);
        if (peer == null) {
            client.deliver(CmEventType.UNREACHABLE, id, serviceId, qp.address().qpn(), null, pkey,
                    "node " + node + " is not in the peer table of node " + engine.nodeId(), null);
            return id;
        }
        if (peer.version() != 0 && peer.version() != Node.PROTOCOL_VERSION) {
            client.deliver(CmEventType.REJECTED, id, serviceId, qp.address().qpn(), null, pkey,
                    "node " + node + " speaks vmrdma protocol " + peer.version() + ", this node speaks "
                            + Node.PROTOCOL_VERSION, null);
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
        qp.connectionId = id;
        Outgoing request = new Outgoing(id, qp, node, serviceId, offered,
                privateData == null ? new byte[0] : privateData.clone(), name, random.nextInt(),
                engine.now() + timeoutNanos);
        outgoing.put(id, request);
        sendRequest(request);
        return id;
    }

    private int expireOutgoing(long now) {
        int work = 0;
        for (Iterator<Outgoing> it = outgoing.values().iterator(); it.hasNext(); ) {
            Outgoing request = it.next();
            if (!request.qp.live || request.qp.connectionId != request.id) {
                it.remove();
            } else if (now - request.deadlineNanos >= 0) {
                it.remove();
                request.qp.connectionId = 0;
                request.qp.owner().deliver(CmEventType.UNREACHABLE, request.id, request.serviceId,
                        request.qp.address().qpn(), null, -1, "no answer from node " + request.node + " in time", null);
                work++;
            } else if (now - request.repeatNanos >= 0) {
                sendRequest(request);
                work++;
            }
        }
        return work;
    }

    private void acceptRemote(DomainVerbs server, Incoming in, Qp qp, byte[] privateData) throws VerbsException {
        if (in.listener.domain != server) {
            throw new VerbsException(VerbsErrno.ENOENT, "no connection request " + in.localId + " for " + server);
        }
        checkAcceptor(qp);
        if (!bothMembers(server.name(), in.clientName, in.pkey)) {
            throw new VerbsException(VerbsErrno.EPERM, "not both " + server + " and " + in.clientName
                    + " are in partition 0x" + Integer.toHexString(in.pkey) + " any more");
        }
        if (server.name().getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
            throw new VerbsException(VerbsErrno.EINVAL, server + ": a domain name of more than " + MAX_NAME_BYTES
                    + " bytes cannot travel in a reply");
        }
        stopWaiting(in);
        in.state = Incoming.State.ACCEPTED;
        in.qp = qp;
        in.serverPsn = random.nextInt();
        in.privateData = privateData == null ? new byte[0] : privateData.clone();
        engine.states().bringUpRemote(qp, in.pkey, in.client, in.serverPsn, in.clientPsn);
        qp.wire().connectionId(in.from.id());
        qp.connectionId = in.localId;
        sendReply(in);
        server.deliver(CmEventType.ESTABLISHED, in.localId, in.listener.serviceId, qp.address().qpn(), in.client,
                in.pkey, "", null);
    }

    /** A connection-manager frame from {@code peer}, already checked for length, CRC and source. */
    void onWire(Peer peer, FrameType type, UnsafeBuffer rx, int at, int payloadLength) {
        long theirId = CmFrames.connectionId(rx, at);
        int payload = CmFrames.payload(type, at);
        switch (type) {
            case CM_REQUEST -> onRequest(peer, rx, at, theirId, payload, payloadLength);
            case CM_REPLY -> onReply(peer, rx, at, theirId, payload, payloadLength);
            case CM_REJECT -> {
                Outgoing request = answered(peer, type, rx, at, theirId);
                if (request != null) {
                    outgoing.remove(theirId);
                    request.qp.connectionId = 0;
                    String reason = CmFrames.reason(rx, payload, payloadLength);
                    request.qp.owner().deliver(CmEventType.REJECTED, theirId, request.serviceId,
                            request.qp.address().qpn(), null, -1, reason, null);
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
        } else if (qp.connectionId != 0) {
            long localId = qp.connectionId;
            qp.connectionId = 0;
            engine.states().enterError(qp);
            qp.owner().deliver(CmEventType.DISCONNECTED, localId, 0, qp.address().qpn(), qp.remote(), qp.pkey(),
                    "closed by the peer", null);
            sendDisconnect(qp.remote(), qp, FrameType.DISCONNECT_REPLY);
        }
    }

    /**
     * A CM_REQUEST. Payload: partition keys offered (count u8), private data (length u8), the keys (u16 each), the
     * private data, then the requesting domain's name (length u8, UTF-8; a frame that ends before it names none).
     */
    private void onRequest(Peer peer, UnsafeBuffer rx, int at, long theirId, int payload, int payloadLength) {
        RemoteId from = new RemoteId(peer.node(), theirId);
        Incoming known = incoming.get(from);
        if (known != null) {
            if (known.state == Incoming.State.ACCEPTED) {
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
            if (bothMembers(listener.domain.name(), clientName, candidate)) {
                chosen = candidate;
            }
        }
        if (chosen == -1) {
            listener.domain.counters().increment(Counter.PARTITION_VIOLATIONS);
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
        Incoming in = new Incoming(from, newId(), client, clientName, clientPsn, chosen, listener,
                engine.now() + timeoutNanos);
        startWaiting(in);
        listener.domain.deliver(CmEventType.CONNECT_REQUEST, in.localId, serviceId, -1, client, chosen, "",
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
        Outgoing request = answered(peer, FrameType.CM_REPLY, rx, at, id);
        if (request == null) {
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
        for (int k : request.pkeys) {
            offered |= k == pkey;
        }
        Qp qp = request.qp;
        outgoing.remove(id);
        if (!qp.live || qp.connectionId != id || qp.state() != QpState.RESET) {
            return;
        }
        if (!offered || !bothMembers(qp.owner().name(), serverName, pkey)) {
            // The listener's node thinks otherwise (its table differs, or it lies): its queue pair is told to close.
            qp.counters().increment(Counter.PARTITION_VIOLATIONS);
            qp.connectionId = 0;
            sendDisconnect(peer.node(), serverQpn, qp.address().qpn(), pkey, id, FrameType.DISCONNECT_REQUEST);
            qp.owner().deliver(CmEventType.REJECTED, id, request.serviceId, qp.address().qpn(), null, pkey,
                    "no partition of node " + engine.nodeId() + " holds both this domain and " + serverName, null);
            return;
        }
        QpAddress server = new QpAddress(peer.node(), serverDomid, serverQpn);
        engine.states().bringUpRemote(qp, pkey, server, request.initialPsn, serverPsn);
        qp.wire().connectionId(id);
        qp.owner().deliver(CmEventType.ESTABLISHED, id, request.serviceId, qp.address().qpn(), server, pkey, "",
                CmFrames.bytes(rx, payload + 1, privateLength));
    }

    /**
     * Our request that a CM_REPLY or CM_REJECT from {@code peer} answers: it must name one of ours by its connection
     * id, come from the node it went to, and be addressed to its queue pair. Anything else is dropped and counted,
     * except a repeated CM_REPLY of a connection it established (the listener answered two of our repeats).
     */
    private Outgoing answered(Peer peer, FrameType type, UnsafeBuffer rx, int at, long id) {
        int qpn = Frame.dstQpn(rx, at);
        Outgoing request = outgoing.get(id);
        if (request != null && request.node == peer.node() && request.qp.address().qpn() == qpn) {
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

    private void sendRequest(Outgoing request) {
        request.repeatNanos = engine.now() + REPEAT_NANOS;
        Peer peer = engine.transport().peers().get(request.node);
        if (peer != null) {
            engine.transport().cmFrames().sendRequest(peer, request.qp.address().qpn(), request.id,
                    request.serviceId, request.qp.owner().domid(), request.initialPsn, request.pkeys,
                    request.privateData, request.name);
        }
    }

    private void sendReply(Incoming in) {
        Peer peer = engine.transport().peers().get(in.from.node());
        if (peer != null) {
            engine.transport().cmFrames().sendReply(peer, in.pkey, in.client.qpn(), in.qp.address().qpn(),
                    in.from.id(), in.listener.domain.domid(), in.serverPsn, in.privateData,
                    in.listener.domain.name().getBytes(StandardCharsets.UTF_8));
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
