package io.vmrdma.engine.internal.verbs;

import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

import java.nio.charset.StandardCharsets;
import java.util.List;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameType;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;

/**
 * The connection manager, as rdma_cm: domains listen on service ids; a domain connects a queue pair to (node,
 * service id); the listener accepts with a queue pair of its own and the engine brings both to RTS, or rejects;
 * an unanswered request times out. Connections are only made within a partition both domains share.
 */
final class ConnectionManager {

    private final VerbsEngine engine;
    private final Map<Long, DomainVerbs> listeners = new HashMap<>();
    private final Map<Long, Request> pending = new HashMap<>();
    /** Our requests to listeners on other nodes, by connection id. */
    private final Map<Long, Outgoing> outgoing = new HashMap<>();
    /** Requests from other nodes, by the local id the listener sees. */
    private final Map<Long, Incoming> incoming = new HashMap<>();
    /** Requests from other nodes already accepted, by (node, their connection id): a repeated request gets the reply again. */
    private final Map<List<Long>, Incoming> accepted = new HashMap<>();
    private final SecureRandom random = new SecureRandom();
    private long timeoutNanos;

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
        DomainVerbs holder = listeners.putIfAbsent(serviceId, domain);
        if (holder != null) {
            throw new VerbsException(VerbsErrno.EEXIST, "service " + serviceId + " on node " + engine.nodeId()
                    + " is already taken by " + (holder == domain ? "this domain" : "another domain"));
        }
    }

    void stopListening(DomainVerbs domain, long serviceId) throws VerbsException {
        if (!listeners.remove(serviceId, domain)) {
            throw new VerbsException(VerbsErrno.ENOENT, domain + " does not listen on service " + serviceId);
        }
    }

    long connect(Qp qp, int node, long serviceId, int pkey, byte[] privateData) throws VerbsException {
        checkPrivateData(privateData);
        if (qp.state() != QpState.RESET || qp.connectionId != 0) {
            throw new VerbsException(VerbsErrno.EINVAL, qp + " must be in RESET and unconnected to connect, not "
                    + qp.state());
        }
        long id = newId();
        DomainVerbs client = qp.owner();
        if (node != engine.nodeId()) {
            return connectRemote(qp, id, node, serviceId, pkey, privateData);
        }
        DomainVerbs server = listeners.get(serviceId);
        if (server == null) {
            client.deliver(CmEventType.REJECTED, id, serviceId, qp.address().qpn(), null, pkey,
                    "nobody listens on service " + serviceId + " at node " + node, null);
            return id;
        }
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
        qp.connectionId = id;
        pending.put(id, new Request(id, qp, server, serviceId, chosen, engine.now() + timeoutNanos));
        server.deliver(CmEventType.CONNECT_REQUEST, id, serviceId, -1, qp.address(), chosen, "", privateData);
        return id;
    }

    void accept(DomainVerbs server, long connectionId, Qp qp, byte[] privateData) throws VerbsException {
        checkPrivateData(privateData);
        if (incoming.containsKey(connectionId)) {
            acceptRemote(server, connectionId, qp, privateData);
            return;
        }
        Request request = pending.get(connectionId);
        if (request == null || request.server != server) {
            throw new VerbsException(VerbsErrno.ENOENT, "no connection request " + connectionId + " for " + server);
        }
        if (qp.state() != QpState.RESET || qp.connectionId != 0) {
            throw new VerbsException(VerbsErrno.EINVAL, qp + " must be in RESET and unconnected to accept, not "
                    + qp.state());
        }
        if (!engine.partitions().isMember(server.name(), request.pkey)) {
            throw new VerbsException(VerbsErrno.EPERM, server + " left partition 0x"
                    + Integer.toHexString(request.pkey));
        }
        pending.remove(connectionId);
        Qp client = request.client;
        if (!client.live || client.connectionId != connectionId || client.state() != QpState.RESET) {
            throw new VerbsException(VerbsErrno.ENOENT, "the requester of connection " + connectionId + " has gone");
        }
        engine.bringUp(qp, request.pkey, client.address());
        engine.bringUp(client, request.pkey, qp.address());
        qp.connectionId = connectionId;
        client.owner().deliver(CmEventType.ESTABLISHED, connectionId, request.serviceId, client.address().qpn(),
                qp.address(), request.pkey, "", privateData);
        server.deliver(CmEventType.ESTABLISHED, connectionId, request.serviceId, qp.address().qpn(),
                client.address(), request.pkey, "", null);
    }

    void reject(DomainVerbs server, long connectionId, String reason) throws VerbsException {
        Incoming remote = incoming.get(connectionId);
        if (remote != null && remote.server == server) {
            incoming.remove(connectionId);
            sendReject(remote.node, remote.theirId, remote.client.qpn(),
                    reason == null || reason.isEmpty() ? "rejected by the listener" : reason);
            return;
        }
        Request request = pending.get(connectionId);
        if (request == null || request.server != server) {
            throw new VerbsException(VerbsErrno.ENOENT, "no connection request " + connectionId + " for " + server);
        }
        pending.remove(connectionId);
        Qp client = request.client;
        if (client.live && client.connectionId == connectionId) {
            client.connectionId = 0;
            client.owner().deliver(CmEventType.REJECTED, connectionId, request.serviceId, client.address().qpn(),
                    null, request.pkey, reason == null || reason.isEmpty() ? "rejected by the listener" : reason,
                    null);
        }
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
            engine.enterError(qp);
            qp.owner().deliver(CmEventType.DISCONNECTED, id, 0, qp.address().qpn(), remote, qp.pkey(),
                    "closed by this side", null);
        }
        if (remote.node() != engine.nodeId()) {
            accepted.values().removeIf(in -> in.qp == qp);
            sendDisconnect(remote, qp, FrameType.DISCONNECT_REQUEST);
            return;
        }
        Qp peer = engine.qp(remote);
        if (peer != null && peer.connectionId == id) {
            peer.connectionId = 0;
            engine.enterError(peer);
            peer.owner().deliver(CmEventType.DISCONNECTED, id, 0, peer.address().qpn(), qp.address(), peer.pkey(),
                    "closed by the peer", null);
        }
    }

    /** Times out unanswered requests, local and remote, and repeats remote ones; returns how many. */
    int expire(long now) {
        int expired = expireRemote(now);
        for (Iterator<Request> it = pending.values().iterator(); it.hasNext(); ) {
            Request request = it.next();
            if (now - request.deadlineNanos >= 0) {
                it.remove();
                expired++;
                Qp client = request.client;
                if (client.live && client.connectionId == request.id) {
                    client.connectionId = 0;
                    client.owner().deliver(CmEventType.UNREACHABLE, request.id, request.serviceId,
                            client.address().qpn(), null, request.pkey, "no answer from the listener in time", null);
                }
            }
        }
        return expired;
    }

    /** Drops the listeners and requests of a domain that is going away, telling the other sides. */
    void forget(DomainVerbs domain) {
        listeners.values().removeIf(d -> d == domain);
        outgoing.values().removeIf(o -> o.qp.owner() == domain);
        for (Iterator<Incoming> it = incoming.values().iterator(); it.hasNext(); ) {
            Incoming in = it.next();
            if (in.server == domain) {
                it.remove();
                sendReject(in.node, in.theirId, in.client.qpn(), "the listener's domain went away");
            }
        }
        accepted.values().removeIf(in -> in.server == domain);
        for (Iterator<Request> it = pending.values().iterator(); it.hasNext(); ) {
            Request request = it.next();
            if (request.server == domain) {
                it.remove();
                Qp client = request.client;
                if (client.live && client.connectionId == request.id) {
                    client.connectionId = 0;
                    client.owner().deliver(CmEventType.REJECTED, request.id, request.serviceId,
                            client.address().qpn(), null, request.pkey, "the listener's domain went away", null);
                }
            } else if (request.client.owner() == domain) {
                it.remove();
            }
        }
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
        } while (id == 0 || pending.containsKey(id) || outgoing.containsKey(id) || incoming.containsKey(id));
        return id;
    }

    private static void checkPrivateData(byte[] data) throws VerbsException {
        if (data != null && data.length > CmEvent.MAX_PRIVATE_DATA) {
            throw new VerbsException(VerbsErrno.EINVAL, "private data is at most " + CmEvent.MAX_PRIVATE_DATA
                    + " bytes, not " + data.length);
        }
    }

    private record Request(long id, Qp client, DomainVerbs server, long serviceId, int pkey, long deadlineNanos) {
    }

    // ----------------------------------------------------------------------------------------------------------
    // Across nodes: CM_REQUEST, CM_REPLY, CM_REJECT, DISCONNECT_* frames, repeated until answered.

    private static final long REPEAT_NANOS = 100_000_000L;
    private static final int MAX_PKEYS = 8;

    /** A request of ours to another node. */
    private static final class Outgoing {
        final long id;
        final Qp qp;
        final int node;
        final long serviceId;
        final int[] pkeys;
        final byte[] privateData;
        final int initialPsn;
        final long deadlineNanos;
        long repeatNanos;

        Outgoing(long id, Qp qp, int node, long serviceId, int[] pkeys, byte[] privateData, int initialPsn,
                 long deadlineNanos) {
            this.id = id;
            this.qp = qp;
            this.node = node;
            this.serviceId = serviceId;
            this.pkeys = pkeys;
            this.privateData = privateData;
            this.initialPsn = initialPsn;
            this.deadlineNanos = deadlineNanos;
        }
    }

    /** A request from another node, waiting for the listener, then remembered once accepted. */
    private static final class Incoming {
        final int node;
        final long theirId;
        final QpAddress client;
        final int clientPsn;
        final int pkey;
        final long serviceId;
        final DomainVerbs server;
        Qp qp;
        int serverPsn;
        byte[] privateData;

        Incoming(int node, long theirId, QpAddress client, int clientPsn, int pkey, long serviceId,
                 DomainVerbs server) {
            this.node = node;
            this.theirId = theirId;
            this.client = client;
            this.clientPsn = clientPsn;
            this.pkey = pkey;
            this.serviceId = serviceId;
            this.server = server;
        }
    }

    private long connectRemote(Qp qp, long id, int node, long serviceId, int pkey, byte[] privateData) {
        DomainVerbs client = qp.owner();
        Peer peer = engine.transport().peer(node);
        if (peer == null) {
            client.deliver(CmEventType.UNREACHABLE, id, serviceId, qp.address().qpn(), null, pkey,
                    "node " + node + " is not in the peer table of node " + engine.nodeId(), null);
            return id;
        }
        if (peer.version != 0 && peer.version != io.vmrdma.api.Node.PROTOCOL_VERSION) {
            client.deliver(CmEventType.REJECTED, id, serviceId, qp.address().qpn(), null, pkey,
                    "node " + node + " speaks vmrdma protocol " + peer.version + ", this node speaks "
                            + io.vmrdma.api.Node.PROTOCOL_VERSION, null);
            return id;
        }
        int[] mine = engine.partitions().partitionsOf(client.name());
        int[] offered = pkey == -1 ? java.util.Arrays.copyOf(mine, Math.min(mine.length, MAX_PKEYS))
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
                privateData == null ? new byte[0] : privateData.clone(), random.nextInt(),
                engine.now() + timeoutNanos);
        outgoing.put(id, request);
        sendRequest(request);
        return id;
    }

    private int expireRemote(long now) {
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

    private void acceptRemote(DomainVerbs server, long localId, Qp qp, byte[] privateData) throws VerbsException {
        Incoming in = incoming.get(localId);
        if (in.server != server) {
            throw new VerbsException(VerbsErrno.ENOENT, "no connection request " + localId + " for " + server);
        }
        if (qp.state() != QpState.RESET || qp.connectionId != 0) {
            throw new VerbsException(VerbsErrno.EINVAL, qp + " must be in RESET and unconnected to accept, not "
                    + qp.state());
        }
        incoming.remove(localId);
        in.qp = qp;
        in.serverPsn = random.nextInt();
        in.privateData = privateData == null ? new byte[0] : privateData.clone();
        engine.bringUpRemote(qp, in.pkey, in.client, in.serverPsn, in.clientPsn);
        qp.wire.connectionId = in.theirId;
        qp.connectionId = localId;
        accepted.put(List.of((long) in.node, in.theirId), in);
        sendReply(in);
        server.deliver(CmEventType.ESTABLISHED, localId, in.serviceId, qp.address().qpn(), in.client, in.pkey, "",
                null);
    }

    /** A connection-manager frame from {@code peer}, already checked for length, CRC and source. */
    void onWire(Peer peer, FrameType type, UnsafeBuffer rx, int at, int payloadLength) {
        long theirId = rx.getLong(at + Extension.Cm.CONNECTION_ID, Frame.ORDER);
        int payload = at + type.headerLength();
        switch (type) {
            case CM_REQUEST -> onRequest(peer, rx, at, theirId, payload, payloadLength);
            case CM_REPLY -> onReply(peer, rx, at, theirId, payload, payloadLength);
            case CM_REJECT -> {
                Outgoing request = answered(peer, type, rx, at, theirId);
                if (request != null) {
                    outgoing.remove(theirId);
                    request.qp.connectionId = 0;
                    String reason = new String(bytes(rx, payload, Math.min(payloadLength, 200)),
                            StandardCharsets.UTF_8);
                    request.qp.owner().deliver(CmEventType.REJECTED, theirId, request.serviceId,
                            request.qp.address().qpn(), null, -1, reason, null);
                }
            }
            case DISCONNECT_REQUEST -> {
                Qp qp = engine.qpByNumber(Frame.dstQpn(rx, at));
                if (qp == null || qp.wire == null || qp.remote().node() != peer.node
                        || qp.remote().qpn() != Frame.srcQpn(rx, at) || qp.wire.connectionId != theirId
                        || qp.pkey() != Frame.pkey(rx, at)) {
                    engine.counters().increment(Counter.CONTROL_FRAME_DROPS);
                } else if (qp.connectionId != 0) {
                    long id = qp.connectionId;
                    qp.connectionId = 0;
                    engine.enterError(qp);
                    accepted.values().removeIf(in -> in.qp == qp);
                    qp.owner().deliver(CmEventType.DISCONNECTED, id, 0, qp.address().qpn(), qp.remote(), qp.pkey(),
                            "closed by the peer", null);
                    sendDisconnect(qp.remote(), qp, FrameType.DISCONNECT_REPLY);
                }
            }
            default -> {
                // DISCONNECT_REPLY: nothing waits for it
            }
        }
    }

    private void onRequest(Peer peer, UnsafeBuffer rx, int at, long theirId, int payload, int payloadLength) {
        Incoming done = accepted.get(List.of((long) peer.node, theirId));
        if (done != null) {
            sendReply(done);
            return;
        }
        for (Incoming waiting : incoming.values()) {
            if (waiting.node == peer.node && waiting.theirId == theirId) {
                return;
            }
        }
        if (payloadLength < 2) {
            engine.counters().increment(Counter.MALFORMED_FRAMES);
            return;
        }
        int count = rx.getByte(payload) & 0xFF;
        int privateLength = rx.getByte(payload + 1) & 0xFF;
        if (count > MAX_PKEYS || privateLength > CmEvent.MAX_PRIVATE_DATA || 2 + 2 * count + privateLength > payloadLength) {
            engine.counters().increment(Counter.MALFORMED_FRAMES);
            return;
        }
        long serviceId = rx.getLong(at + Extension.Cm.SERVICE_OR_DOMID, Frame.ORDER);
        int clientDomid = rx.getInt(at + Extension.Cm.DOMID_OR_PKEY, Frame.ORDER);
        int clientPsn = rx.getInt(at + Extension.Cm.INITIAL_PSN, Frame.ORDER);
        int clientQpn = Frame.srcQpn(rx, at);
        if (clientDomid < 0 || clientDomid > 0xFFFF || clientQpn < 0 || clientQpn > VerbsEngine.MAX_QPN) {
            engine.counters().increment(Counter.MALFORMED_FRAMES);
            return;
        }
        DomainVerbs server = listeners.get(serviceId);
        if (server == null) {
            sendReject(peer.node, theirId, clientQpn, "nobody listens on service " + serviceId + " at node "
                    + engine.nodeId());
            return;
        }
        int chosen = -1;
        for (int i = 0; i < count && chosen == -1; i++) {
            int candidate = rx.getShort(payload + 2 + 2 * i, Frame.ORDER) & 0xFFFF;
            if (io.vmrdma.api.verbs.Partitions.isValid(candidate)
                    && engine.partitions().isMember(server.name(), candidate)) {
                chosen = candidate;
            }
        }
        if (chosen == -1) {
            server.counters().increment(Counter.PARTITION_VIOLATIONS);
            sendReject(peer.node, theirId, clientQpn, "no partition shared with the listener");
            return;
        }
        long localId = newId();
        QpAddress client = new QpAddress(peer.node, clientDomid, clientQpn);
        incoming.put(localId, new Incoming(peer.node, theirId, client, clientPsn, chosen, serviceId, server));
        server.deliver(CmEventType.CONNECT_REQUEST, localId, serviceId, -1, client, chosen, "",
                bytes(rx, payload + 2 + 2 * count, privateLength));
    }

    private void onReply(Peer peer, UnsafeBuffer rx, int at, long id, int payload, int payloadLength) {
        Outgoing request = answered(peer, FrameType.CM_REPLY, rx, at, id);
        if (request == null) {
            return;
        }
        int serverDomid = (int) rx.getLong(at + Extension.Cm.SERVICE_OR_DOMID, Frame.ORDER);
        int pkey = rx.getInt(at + Extension.Cm.DOMID_OR_PKEY, Frame.ORDER);
        int serverPsn = rx.getInt(at + Extension.Cm.INITIAL_PSN, Frame.ORDER);
        int serverQpn = Frame.srcQpn(rx, at);
        int privateLength = payloadLength > 0 ? rx.getByte(payload) & 0xFF : 0;
        boolean offered = false;
        for (int k : request.pkeys) {
            offered |= k == pkey;
        }
        if (!offered || serverDomid < 0 || serverDomid > 0xFFFF || serverQpn < 0 || serverQpn > VerbsEngine.MAX_QPN
                || privateLength > CmEvent.MAX_PRIVATE_DATA || 1 + privateLength > Math.max(payloadLength, 1)) {
            engine.counters().increment(Counter.MALFORMED_FRAMES);
            return;
        }
        outgoing.remove(id);
        Qp qp = request.qp;
        if (!qp.live || qp.connectionId != id || qp.state() != QpState.RESET) {
            return;
        }
        QpAddress server = new QpAddress(peer.node, serverDomid, serverQpn);
        engine.bringUpRemote(qp, pkey, server, request.initialPsn, serverPsn);
        qp.wire.connectionId = id;
        qp.owner().deliver(CmEventType.ESTABLISHED, id, request.serviceId, qp.address().qpn(), server, pkey, "",
                bytes(rx, payload + 1, privateLength));
    }

    /**
     * Our request that a CM_REPLY or CM_REJECT from {@code peer} answers: it must name one of ours by its connection
     * id, come from the node it went to, and be addressed to its queue pair. Anything else is dropped and counted,
     * except a repeated CM_REPLY of a connection it established (the listener answered two of our repeats).
     */
    private Outgoing answered(Peer peer, FrameType type, UnsafeBuffer rx, int at, long id) {
        int qpn = Frame.dstQpn(rx, at);
        Outgoing request = outgoing.get(id);
        if (request != null && request.node == peer.node && request.qp.address().qpn() == qpn) {
            return request;
        }
        Qp qp = engine.qpByNumber(qpn);
        boolean repeatedReply = type == FrameType.CM_REPLY && qp != null && qp.wire != null
                && qp.wire.connectionId == id && qp.remote().node() == peer.node;
        if (!repeatedReply) {
            engine.counters().increment(Counter.CONTROL_FRAME_DROPS);
        }
        return null;
    }

    private void sendRequest(Outgoing request) {
        request.repeatNanos = engine.now() + REPEAT_NANOS;
        Peer peer = engine.transport().peer(request.node);
        int payload = 2 + 2 * request.pkeys.length + request.privateData.length;
        int at = peer == null ? -1 : engine.transport().begin(peer, FrameType.CM_REQUEST.headerLength(), payload);
        if (at < 0) {
            return;
        }
        MutableDirectBuffer tx = engine.transport().tx();
        Qp qp = request.qp;
        Frame.writeBase(tx, at, FrameType.CM_REQUEST, 0, engine.nodeId(), request.node, 0, payload, 0,
                qp.address().qpn(), 0, 0);
        tx.putLong(at + Extension.Cm.CONNECTION_ID, request.id, Frame.ORDER);
        tx.putLong(at + Extension.Cm.SERVICE_OR_DOMID, request.serviceId, Frame.ORDER);
        tx.putInt(at + Extension.Cm.DOMID_OR_PKEY, qp.owner().domid(), Frame.ORDER);
        tx.putInt(at + Extension.Cm.INITIAL_PSN, request.initialPsn, Frame.ORDER);
        int p = at + FrameType.CM_REQUEST.headerLength();
        tx.putByte(p, (byte) request.pkeys.length);
        tx.putByte(p + 1, (byte) request.privateData.length);
        for (int i = 0; i < request.pkeys.length; i++) {
            tx.putShort(p + 2 + 2 * i, (short) request.pkeys[i], Frame.ORDER);
        }
        tx.putBytes(p + 2 + 2 * request.pkeys.length, request.privateData);
        engine.transport().end(peer, at, FrameType.CM_REQUEST.headerLength(), payload);
    }

    private void sendReply(Incoming in) {
        Peer peer = engine.transport().peer(in.node);
        int payload = 1 + in.privateData.length;
        int at = peer == null ? -1 : engine.transport().begin(peer, FrameType.CM_REPLY.headerLength(), payload);
        if (at < 0) {
            return;
        }
        MutableDirectBuffer tx = engine.transport().tx();
        Frame.writeBase(tx, at, FrameType.CM_REPLY, 0, engine.nodeId(), in.node, in.pkey, payload, in.client.qpn(),
                in.qp.address().qpn(), 0, 0);
        tx.putLong(at + Extension.Cm.CONNECTION_ID, in.theirId, Frame.ORDER);
        tx.putLong(at + Extension.Cm.SERVICE_OR_DOMID, in.server.domid(), Frame.ORDER);
        tx.putInt(at + Extension.Cm.DOMID_OR_PKEY, in.pkey, Frame.ORDER);
        tx.putInt(at + Extension.Cm.INITIAL_PSN, in.serverPsn, Frame.ORDER);
        int p = at + FrameType.CM_REPLY.headerLength();
        tx.putByte(p, (byte) in.privateData.length);
        tx.putBytes(p + 1, in.privateData);
        engine.transport().end(peer, at, FrameType.CM_REPLY.headerLength(), payload);
    }

    private void sendReject(int node, long theirId, int clientQpn, String reason) {
        Peer peer = engine.transport().peer(node);
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        int length = Math.min(text.length, 200);
        int at = peer == null ? -1 : engine.transport().begin(peer, FrameType.CM_REJECT.headerLength(), length);
        if (at < 0) {
            return;
        }
        MutableDirectBuffer tx = engine.transport().tx();
        Frame.writeBase(tx, at, FrameType.CM_REJECT, 0, engine.nodeId(), node, 0, length, clientQpn, 0, 0, 0);
        tx.putLong(at + Extension.Cm.CONNECTION_ID, theirId, Frame.ORDER);
        tx.putBytes(at + FrameType.CM_REJECT.headerLength(), text, 0, length);
        engine.transport().end(peer, at, FrameType.CM_REJECT.headerLength(), length);
    }

    private void sendDisconnect(QpAddress remote, Qp qp, FrameType type) {
        Peer peer = engine.transport().peer(remote.node());
        int at = peer == null ? -1 : engine.transport().begin(peer, type.headerLength(), 0);
        if (at < 0) {
            return;
        }
        MutableDirectBuffer tx = engine.transport().tx();
        Frame.writeBase(tx, at, type, 0, engine.nodeId(), remote.node(), qp.pkey(), 0, remote.qpn(),
                qp.address().qpn(), 0, 0);
        tx.putLong(at + Extension.Cm.CONNECTION_ID, qp.wire.connectionId, Frame.ORDER);
        engine.transport().end(peer, at, type.headerLength(), 0);
    }

    private static byte[] bytes(UnsafeBuffer rx, int at, int length) {
        byte[] out = new byte[length];
        rx.getBytes(at, out);
        return out;
    }
}
