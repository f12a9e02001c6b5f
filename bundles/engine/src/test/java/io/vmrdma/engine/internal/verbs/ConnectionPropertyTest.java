package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.QpAttributes;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.engine.testkit.Cluster;
import io.vmrdma.nic.faults.Faults;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * Random sequences of what the connection manager meets (connects within a node and across nodes, to listeners and
 * to nobody; accepts and rejects; disconnects, resets and destroys of either end; domains that close and come back;
 * time that passes to beyond the connect timeout; a wire that loses, duplicates and reorders frames) on two nodes.
 * After every step each connection is in one state that agrees with every table that holds it and with its queue
 * pairs; once every queue pair is closed and the connect timeout has passed, no connection is left anywhere.
 */
class ConnectionPropertyTest {

    private static final long TIMEOUT_NANOS = 5_000_000_000L;

    /** A domain that listens on a service of its own; it may close and open again under the same name. */
    private static final class Slot {
        final int node;
        final int domid;
        final long service;
        Cluster.Dom dom;

        Slot(int node, int domid, long service) {
            this.node = node;
            this.domid = domid;
            this.service = service;
        }

        void open(Cluster c) throws VerbsException {
            dom = c.domain(node, domid, "vm" + domid);
            dom.verbs.listen(service);
        }
    }

    /** A CONNECT_REQUEST a listening domain was told of and has not answered. */
    private record Request(Slot slot, Cluster.Dom dom, long connectionId) {
    }

    @Property(tries = 40)
    void connectionsHaveOneStateAndNoneOutlivesItsEnds(@ForAll @LongRange(min = 1) long seed,
                                                       @ForAll @IntRange(min = 0, max = 5) int faultPercent,
                                                       @ForAll @IntRange(min = 1, max = 60) int steps)
            throws Exception {
        Random random = new Random(seed);
        try (Cluster c = new Cluster(2, 1500, Faults.uniform(faultPercent / 100.0), seed)) {
            List<Slot> slots = List.of(new Slot(1, 1, 100), new Slot(1, 2, 200), new Slot(2, 3, 300));
            for (Slot slot : slots) {
                slot.open(c);
            }
            List<Qp> qps = new ArrayList<>();
            List<Request> requests = new ArrayList<>();
            for (int step = 0; step < steps; step++) {
                switch (random.nextInt(8)) {
                    case 0, 1 -> {
                        Slot client = slots.get(random.nextInt(slots.size()));
                        Slot server = slots.get(random.nextInt(slots.size()));
                        Qp qp = (Qp) client.dom.qp();
                        qps.add(qp);
                        // One in five asks a service nobody listens on.
                        long service = random.nextInt(5) == 0 ? 999 : server.service;
                        client.dom.verbs.connect(qp, server.node, service, -1, null);
                    }
                    case 2 -> answer(random, requests, qps);
                    case 3 -> act(random, qps, qp -> qp.owner().disconnect(qp));
                    case 4 -> act(random, qps, qp -> qp.owner().destroyQp(qp));
                    case 5 -> act(random, qps, qp -> qp.owner().modifyQp(qp, new QpAttributes().state(QpState.RESET)));
                    case 6 -> {
                        Slot slot = slots.get(random.nextInt(slots.size()));
                        c.node(slot.node).closeDomain(slot.domid);
                        slot.open(c);
                    }
                    default -> c.advance(random.nextLong(TIMEOUT_NANOS / 2));
                }
                c.settle(3);
                collect(slots, requests);
                for (VerbsEngine engine : c.engines()) {
                    checkBookkeeping(engine, qps);
                }
            }
            for (Qp qp : qps) {
                if (qp.live()) {
                    qp.owner().disconnect(qp);
                }
            }
            c.advance(TIMEOUT_NANOS + 1);
            c.settle(3);
            c.advance(TIMEOUT_NANOS + 1);
            c.settle(3);
            for (VerbsEngine engine : c.engines()) {
                checkBookkeeping(engine, qps);
                ConnectionManager.Census census = engine.connections().census();
                assertThat(census.awaitingListener()).isEmpty();
                assertThat(census.requestsSent()).isEmpty();
                assertThat(census.fromPeers()).isEmpty();
                assertThat(census.waitingPerPeer()).isEmpty();
                assertThat(census.waitingPerListener().values()).containsOnly(0);
            }
            for (Qp qp : qps) {
                if (qp.live()) {
                    assertThat(qp.connection()).as("%s after every close and the timeout", qp).isNull();
                }
            }
        }
    }

    private interface QpAction {
        void on(Qp qp) throws VerbsException;
    }

    /** Does {@code action} to a random queue pair still there. */
    private static void act(Random random, List<Qp> qps, QpAction action) throws VerbsException {
        List<Qp> live = qps.stream().filter(Qp::live).toList();
        if (!live.isEmpty()) {
            action.on(live.get(random.nextInt(live.size())));
        }
    }

    /** Accepts (two times in three) or rejects a random request; one answered too late is refused with ENOENT. */
    private static void answer(Random random, List<Request> requests, List<Qp> qps)
            throws VerbsException {
        if (requests.isEmpty()) {
            return;
        }
        Request request = requests.remove(random.nextInt(requests.size()));
        if (request.slot.dom != request.dom) {
            return;
        }
        try {
            if (random.nextInt(3) < 2) {
                Qp qp = (Qp) request.dom.qp();
                qps.add(qp);
                request.dom.verbs.accept(request.connectionId, qp, null);
            } else {
                request.dom.verbs.reject(request.connectionId, "no");
            }
        } catch (VerbsException e) {
            assertThat(e.errno()).isEqualTo(VerbsErrno.ENOENT);
        }
    }

    private static void collect(List<Slot> slots, List<Request> requests) {
        for (Slot slot : slots) {
            CmEvent event = new CmEvent();
            while (slot.dom.verbs.pollCmEvent(event)) {
                if (event.type() == CmEventType.CONNECT_REQUEST) {
                    requests.add(new Request(slot, slot.dom, event.connectionId()));
                }
            }
        }
    }

    /**
     * Every table holds only connections in the states it is for, no connection is in two of them but where one
     * indexes the other's, the listeners' and the nodes' waiting counts are the connections that wait, and every
     * queue pair of this node is an end of at most one connection, in a state that agrees with its own.
     */
    private static void checkBookkeeping(VerbsEngine engine, List<Qp> qps) {
        ConnectionManager.Census census = engine.connections().census();
        Set<Connection> sent = new HashSet<>(census.requestsSent());
        Map<Long, Integer> perListener = new HashMap<>();
        Map<Integer, Integer> perPeer = new HashMap<>();
        for (Connection connection : census.awaitingListener()) {
            assertThat(connection.state()).isIn(ConnectionState.REQUESTED, ConnectionState.REQUEST_RECEIVED);
            assertThat(sent).doesNotContain(connection);
            perListener.merge(connection.serviceId(), 1, Integer::sum);
            if (connection.received() != null) {
                assertThat(census.fromPeers()).contains(connection);
                perPeer.merge(connection.received().node(), 1, Integer::sum);
            }
        }
        for (Connection connection : census.requestsSent()) {
            assertThat(connection.state()).isEqualTo(ConnectionState.REQUEST_SENT);
        }
        for (Connection connection : census.fromPeers()) {
            assertThat(connection.received()).isNotNull();
            assertThat(sent).doesNotContain(connection);
            if (connection.state() == ConnectionState.REQUEST_RECEIVED) {
                assertThat(census.awaitingListener()).contains(connection);
            } else {
                assertThat(connection.state()).isIn(ConnectionState.ACCEPTED, ConnectionState.CLOSED);
                assertThat(connection.reply()).as("an accepted request answers its repeats").isNotNull();
            }
        }
        assertThat(census.waitingPerPeer()).isEqualTo(perPeer);
        census.waitingPerListener()
                .forEach((service, waiting) -> assertThat(waiting).as("requests waiting for service %d", service)
                        .isEqualTo(perListener.getOrDefault(service, 0)));
        for (Qp qp : qps) {
            Connection connection = qp.connection();
            if (!qp.live() || connection == null || qp.address().node() != engine.nodeId()) {
                continue;
            }
            ConnectionState state = connection.state();
            assertThat(state).as("%s's connection", qp).isIn(ConnectionState.REQUESTED, ConnectionState.REQUEST_SENT,
                    ConnectionState.ACCEPTED, ConnectionState.ESTABLISHED);
            if (state.isRequest()) {
                assertThat(connection.requester()).isSameAs(qp);
                assertThat(qp.state()).isEqualTo(QpState.RESET);
                assertThat(qp.remote()).isNull();
            } else {
                assertThat(qp).isIn(connection.requester(), connection.acceptor());
                assertThat(qp.remote()).isNotNull();
            }
        }
    }
}
