package io.vmrdma.engine.internal.verbs;

import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

import io.vmrdma.api.Counter;
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
    private long timeoutNanos;
    private long nextConnectionId = new SecureRandom().nextLong() & 0x7FFF_FFFF_FFFFL | 1;

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
        long id = nextConnectionId++;
        DomainVerbs client = qp.owner();
        if (node != engine.nodeId()) {
            client.deliver(CmEventType.UNREACHABLE, id, serviceId, qp.address().qpn(), null, pkey,
                    "node " + node + " is not reachable from node " + engine.nodeId(), null);
            return id;
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
        if (qp.remote() == null || qp.connectionId == 0) {
            return;
        }
        long id = qp.connectionId;
        Qp peer = engine.qp(qp.remote());
        qp.connectionId = 0;
        engine.enterError(qp);
        qp.owner().deliver(CmEventType.DISCONNECTED, id, 0, qp.address().qpn(), qp.remote(), qp.pkey(),
                "closed by this side", null);
        if (peer != null && peer.connectionId == id) {
            peer.connectionId = 0;
            engine.enterError(peer);
            peer.owner().deliver(CmEventType.DISCONNECTED, id, 0, peer.address().qpn(), qp.address(), peer.pkey(),
                    "closed by the peer", null);
        }
    }

    /** Times out unanswered requests; returns how many. */
    int expire(long now) {
        int expired = 0;
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

    private static void checkPrivateData(byte[] data) throws VerbsException {
        if (data != null && data.length > CmEvent.MAX_PRIVATE_DATA) {
            throw new VerbsException(VerbsErrno.EINVAL, "private data is at most " + CmEvent.MAX_PRIVATE_DATA
                    + " bytes, not " + data.length);
        }
    }

    private record Request(long id, Qp client, DomainVerbs server, long serviceId, int pkey, long deadlineNanos) {
    }
}
