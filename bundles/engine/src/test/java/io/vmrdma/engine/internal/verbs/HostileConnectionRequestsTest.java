package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameType;
import io.vmrdma.engine.testkit.Cluster;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Connection requests from a hostile node (node 3, which may hold the cluster secret): claims of partition membership
 * the receiving node's own table does not back, and floods. Each is refused and counted, its state bounded and
 * expired, while another tenant's transfer between nodes 1 and 2 arrives byte-identical. Every test runs with frame
 * authentication off ({@code auth = off}) and on (the attacker then seals its frames as node 3 would): these checks do
 * not depend on it.
 */
class HostileConnectionRequestsTest {

    private static final int HPC = 0x0002;
    private static final long SERVICE = 9;

    private final FrameInjector attacker = new FrameInjector();

    private static Cluster cluster(boolean authenticated, long seed) {
        return FrameInjector.cluster(authenticated, 3, seed);
    }

    /** As above, every node with the same table: the bystanders in 0x0001, "server" and "friend" in {@link #HPC}. */
    private static Cluster partitioned(boolean authenticated, long seed) {
        Cluster c = cluster(authenticated, seed);
        for (VerbsEngine engine : c.engines()) {
            engine.partitions(Map.of(0x0001, List.of("a", "b"), HPC, List.of("server", "friend")));
        }
        return c;
    }

    @ParameterizedTest(name = "authenticated: {0}")
    @ValueSource(booleans = {false, true})
    void aNodeCannotClaimAPartitionForADomainTheLocalTableDoesNotList(boolean authenticated) throws Exception {
        try (Cluster c = partitioned(authenticated, 31)) {
            Bystander victim = new Bystander(c);
            Cluster.Dom server = c.domain(1, 3, "server");
            server.verbs.listen(SERVICE);
            long violations = server.vm().counter(Counter.PARTITION_VIOLATIONS);

            // Node 3 offers the partition for a domain of its own that node 1's table does not put there, for one that
            // names no domain (as a node of an earlier revision would), and for a name not in any partition.
            request(c, 3, 101, SERVICE, "intruder", HPC);
            request(c, 3, 102, SERVICE, null, HPC);
            request(c, 3, 103, SERVICE, "a", HPC, 0x0001);
            c.settle(2);

            assertThat(server.vm().counter(Counter.PARTITION_VIOLATIONS) - violations).isEqualTo(3);
            assertThat(server.verbs.pollCmEvent(new CmEvent())).as("the listener heard of none").isFalse();

            // A member on node 2 connects: its name travels, node 1's table lists it.
            Cluster.Dom friend = c.domain(2, 4, "friend");
            server.verbs.stopListening(SERVICE);
            QueuePair[] pair = c.connect(friend, server, SERVICE);
            assertThat(pair[1].pkey()).isEqualTo(HPC);
            victim.assertDelivered(c);
        }
    }

    @ParameterizedTest(name = "authenticated: {0}")
    @ValueSource(booleans = {false, true})
    void aListenerOnAHostileNodeCannotPutADomainIntoAPartition(boolean authenticated) throws Exception {
        try (Cluster c = partitioned(authenticated, 32)) {
            Bystander victim = new Bystander(c);
            Cluster.Dom friend = c.domain(2, 4, "friend");
            QueuePair qp = friend.qp();
            long id = friend.verbs.connect(qp, 3, SERVICE, HPC, null);
            long violations = friend.vm().counter(Counter.PARTITION_VIOLATIONS);

            // Node 3 saw the request (it holds the connection id) and answers for a listener of its own naming.
            int payload = 1 + 1 + "intruder".length();
            attacker.send(c, c.ports().get(2), c.wire().address(2), FrameType.CM_REPLY, payload, (f, at) -> {
                Frame.writeBase(f, at, FrameType.CM_REPLY, 0, 3, 2, HPC, payload, qp.address().qpn(), 77, 0, 0);
                f.putLong(at + Extension.Cm.CONNECTION_ID, id, Frame.ORDER);
                f.putLong(at + Extension.Cm.SERVICE_OR_DOMID, 9, Frame.ORDER);
                f.putInt(at + Extension.Cm.DOMID_OR_PKEY, HPC, Frame.ORDER);
                putName(f, at + FrameType.CM_REPLY.headerLength() + 1, "intruder");
            });
            c.node(2).doWork();

            CmEvent event = new CmEvent();
            assertThat(friend.verbs.pollCmEvent(event)).isTrue();
            assertThat(event.type()).isEqualTo(CmEventType.REJECTED);
            assertThat(event.reason()).contains("intruder");
            assertThat(qp.state()).isEqualTo(QpState.RESET);
            assertThat(friend.vm().counter(Counter.PARTITION_VIOLATIONS) - violations).isEqualTo(1);
            victim.assertDelivered(c);
        }
    }

    @ParameterizedTest(name = "authenticated: {0}")
    @ValueSource(booleans = {false, true})
    void aFloodOfRequestsIsCappedPerListenerAndPerNodeAndExpires(boolean authenticated) throws Exception {
        try (Cluster c = cluster(authenticated, 33)) {
            Bystander victim = new Bystander(c);
            Cluster.Dom[] servers = {c.domain(1, 3, "s1"), c.domain(1, 4, "s2"), c.domain(1, 5, "s3")};
            for (int i = 0; i < servers.length; i++) {
                servers[i].verbs.listen(SERVICE + i);
            }
            Random ids = new Random(33);
            int tries = ConnectionManager.MAX_WAITING_PER_LISTENER + 72;
            for (int i = 0; i < servers.length; i++) {
                for (int n = 0; n < tries; n++) {
                    request(c, 3, ids.nextLong(), SERVICE + i, "", io.vmrdma.api.verbs.Partitions.DEFAULT_PKEY);
                }
                c.settle(2);
            }

            // s1 and s2 fill their backlogs; then node 3 has as many waiting as one node may, and s3 gets none.
            List<Long> flooded = requestsHeard(servers[0]);
            assertThat(flooded).hasSize(ConnectionManager.MAX_WAITING_PER_LISTENER);
            assertThat(requestsHeard(servers[1])).hasSize(
                    ConnectionManager.MAX_WAITING_PER_PEER - ConnectionManager.MAX_WAITING_PER_LISTENER);
            assertThat(requestsHeard(servers[2])).isEmpty();
            assertThat(c.node(1).counter(Counter.CM_REQUESTS_REFUSED))
                    .isEqualTo(3L * tries - ConnectionManager.MAX_WAITING_PER_PEER);

            // A full backlog refuses everyone, a node under its cap gets through to another listener.
            Cluster.Dom client = c.domain(2, 6, "client");
            QueuePair refused = client.qp();
            client.verbs.connect(refused, 1, SERVICE, -1, null);
            CmEvent event = client.nextCm();
            assertThat(event.type()).isEqualTo(CmEventType.REJECTED);
            assertThat(event.reason()).contains("requests waiting already");
            servers[2].verbs.stopListening(SERVICE + 2);
            QueuePair[] pair = c.connect(client, servers[2], SERVICE + 2);
            assertThat(pair[0].state()).isEqualTo(QpState.RTS);

            // After the connect timeout the flood is gone: an old request cannot be accepted, new ones are heard.
            c.advance(5_000_000_000L);
            c.settle(2);
            QueuePair late = servers[0].qp();
            assertThatThrownBy(() -> servers[0].verbs.accept(flooded.get(0), late, null))
                    .isInstanceOfSatisfying(VerbsException.class,
                            e -> assertThat(e.errno()).isEqualTo(VerbsErrno.ENOENT));
            servers[0].verbs.stopListening(SERVICE);
            QueuePair[] again = c.connect(client, servers[0], SERVICE);
            assertThat(again[0].state()).isEqualTo(QpState.RTS);
            victim.assertDelivered(c);
        }
    }

    @ParameterizedTest(name = "authenticated: {0}")
    @ValueSource(booleans = {false, true})
    void aListenerThatDoesNotPollItsEventsGetsNoMoreRequests(boolean authenticated) throws Exception {
        try (Cluster c = cluster(authenticated, 34)) {
            Bystander victim = new Bystander(c);
            Cluster.Dom server = c.domain(1, 3, "server");
            server.verbs.listen(SERVICE);
            Random ids = new Random(34);
            int rounds = ConnectionManager.MAX_EVENTS_WAITING / ConnectionManager.MAX_WAITING_PER_LISTENER;
            for (int round = 0; round <= rounds; round++) {
                for (int n = 0; n < ConnectionManager.MAX_WAITING_PER_LISTENER; n++) {
                    request(c, 3, ids.nextLong(), SERVICE, "", io.vmrdma.api.verbs.Partitions.DEFAULT_PKEY);
                }
                c.settle(2);
                c.advance(5_000_000_000L);
                c.settle(2);
            }

            assertThat(server.vm().counter(Counter.CM_REQUESTS_REFUSED))
                    .as("the last round, over the events never polled")
                    .isEqualTo(ConnectionManager.MAX_WAITING_PER_LISTENER);
            assertThat(requestsHeard(server)).hasSize(ConnectionManager.MAX_EVENTS_WAITING);
            Cluster.Dom client = c.domain(2, 4, "client");
            server.verbs.stopListening(SERVICE);
            QueuePair[] pair = c.connect(client, server, SERVICE);
            assertThat(pair[0].state()).as("polled: heard again").isEqualTo(QpState.RTS);
            victim.assertDelivered(c);
        }
    }

    @ParameterizedTest(name = "authenticated: {0}")
    @ValueSource(booleans = {false, true})
    void aDomainListensOnAFewServicesOnly(boolean authenticated) throws Exception {
        try (Cluster c = cluster(authenticated, 35)) {
            Cluster.Dom greedy = c.domain(1, 3, "greedy");
            for (int i = 0; i < ConnectionManager.MAX_LISTENS_PER_DOMAIN; i++) {
                greedy.verbs.listen(1000 + i);
            }
            assertThatThrownBy(() -> greedy.verbs.listen(SERVICE))
                    .isInstanceOfSatisfying(VerbsException.class,
                            e -> assertThat(e.errno()).isEqualTo(VerbsErrno.EDQUOT));
            greedy.verbs.stopListening(1000);
            greedy.verbs.listen(SERVICE);
            Bystander victim = new Bystander(c);
            victim.assertDelivered(c);
        }
    }

    /** Polls every connection event {@code dom} has; the connection ids of its CONNECT_REQUESTs. */
    private static List<Long> requestsHeard(Cluster.Dom dom) {
        List<Long> ids = new java.util.ArrayList<>();
        CmEvent event = new CmEvent();
        while (dom.verbs.pollCmEvent(event)) {
            if (event.type() == CmEventType.CONNECT_REQUEST) {
                ids.add(event.connectionId());
            }
        }
        return ids;
    }

    /**
     * A CM_REQUEST to {@code serviceId} on node 1 in the name of node {@code from}, from its port: the domain name it
     * claims (none when null) and the partitions it offers.
     */
    private void request(Cluster c, int from, long connectionId, long serviceId, String name, int... pkeys) {
        int nameLength = name == null ? 0 : 1 + name.getBytes(StandardCharsets.UTF_8).length;
        int payload = 2 + 2 * pkeys.length + nameLength;
        attacker.send(c, c.ports().get(from - 1), c.wire().address(1), FrameType.CM_REQUEST, payload, (f, at) -> {
            Frame.writeBase(f, at, FrameType.CM_REQUEST, 0, from, 1, 0, payload, 0, 100, 0, 0);
            f.putLong(at + Extension.Cm.CONNECTION_ID, connectionId, Frame.ORDER);
            f.putLong(at + Extension.Cm.SERVICE_OR_DOMID, serviceId, Frame.ORDER);
            f.putInt(at + Extension.Cm.DOMID_OR_PKEY, 7, Frame.ORDER);
            int p = at + FrameType.CM_REQUEST.headerLength();
            f.putByte(p, (byte) pkeys.length);
            for (int i = 0; i < pkeys.length; i++) {
                f.putShort(p + 2 + 2 * i, (short) pkeys[i], Frame.ORDER);
            }
            if (name != null) {
                putName(f, p + 2 + 2 * pkeys.length, name);
            }
        });
    }

    private static void putName(org.agrona.MutableDirectBuffer f, int at, String name) {
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        f.putByte(at, (byte) bytes.length);
        f.putBytes(at + 1, bytes);
    }
}
