package io.vmrdma.engine.internal.verbs;

import static io.vmrdma.engine.internal.verbs.QpStateMachineTest.expectErrno;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.WcStatus;
import org.junit.jupiter.api.Test;

class ConnectionManagerTest {

    private final VerbsFixture f = new VerbsFixture();

    @Test
    void acceptBringsBothQueuePairsToRtsAndCarriesPrivateData() throws Exception {
        VerbsFixture.Dom client = f.domain(1, "client");
        VerbsFixture.Dom server = f.domain(2, "server");
        server.verbs.listen(18515);
        QueuePair c = client.qp();
        QueuePair s = server.qp();
        long id = client.verbs.connect(c, VerbsFixture.NODE, 18515, -1, new byte[] {1, 2, 3});

        CmEvent request = server.cmEvent();
        assertThat(request.type()).isEqualTo(CmEventType.CONNECT_REQUEST);
        assertThat(request.remote()).isEqualTo(c.address());
        assertThat(request.serviceId()).isEqualTo(18515);
        assertThat(request.privateData()).containsExactly(1, 2, 3);
        assertThat(c.state()).isEqualTo(QpState.RESET);

        server.verbs.accept(id, s, new byte[] {9});
        CmEvent established = client.cmEvent();
        assertThat(established.type()).isEqualTo(CmEventType.ESTABLISHED);
        assertThat(established.remote()).isEqualTo(s.address());
        assertThat(established.localQpn()).isEqualTo(c.address().qpn());
        assertThat(established.privateData()).containsExactly(9);
        assertThat(server.cmEvent().type()).isEqualTo(CmEventType.ESTABLISHED);
        assertThat(c.state()).isEqualTo(QpState.RTS);
        assertThat(s.state()).isEqualTo(QpState.RTS);
        assertThat(c.remote()).isEqualTo(s.address());
        assertThat(s.remote()).isEqualTo(c.address());
        assertThat(c.pkey()).isEqualTo(s.pkey());
    }

    @Test
    void rejectAndNoListenerAreReportedToTheClient() throws Exception {
        VerbsFixture.Dom client = f.domain(1, "client");
        VerbsFixture.Dom server = f.domain(2, "server");
        QueuePair c = client.qp();
        client.verbs.connect(c, VerbsFixture.NODE, 1, -1, null);
        CmEvent none = client.cmEvent();
        assertThat(none.type()).isEqualTo(CmEventType.REJECTED);
        assertThat(none.reason()).contains("nobody listens on service 1");

        server.verbs.listen(2);
        long id = client.verbs.connect(c, VerbsFixture.NODE, 2, -1, null);
        server.cmEvent();
        server.verbs.reject(id, "busy");
        CmEvent rejected = client.cmEvent();
        assertThat(rejected.type()).isEqualTo(CmEventType.REJECTED);
        assertThat(rejected.reason()).isEqualTo("busy");
        expectErrno(() -> server.verbs.accept(id, server.qp(), null), VerbsErrno.ENOENT);
        assertThat(c.state()).isEqualTo(QpState.RESET);
    }

    @Test
    void anUnansweredRequestTimesOut() throws Exception {
        VerbsFixture.Dom client = f.domain(1, "client");
        VerbsFixture.Dom server = f.domain(2, "server");
        server.verbs.listen(7);
        f.engine.connectTimeoutNanos(1_000_000);
        QueuePair c = client.qp();
        long id = client.verbs.connect(c, VerbsFixture.NODE, 7, -1, null);
        f.drain();
        CmEvent event = new CmEvent();
        assertThat(client.verbs.pollCmEvent(event)).isFalse();
        f.clock[0] += 1_000_000;
        f.drain();
        assertThat(client.cmEvent().type()).isEqualTo(CmEventType.UNREACHABLE);
        server.cmEvent();
        expectErrno(() -> server.verbs.accept(id, server.qp(), null), VerbsErrno.ENOENT);
        assertThat(client.vm().counter(Counter.CM_UNREACHABLE)).isEqualTo(1);
    }

    @Test
    void anotherNodeIsUnreachableWithinOneNode() throws Exception {
        VerbsFixture.Dom client = f.domain(1, "client");
        client.verbs.connect(client.qp(), 2, 7, -1, null);
        CmEvent event = client.cmEvent();
        assertThat(event.type()).isEqualTo(CmEventType.UNREACHABLE);
        assertThat(event.reason()).contains("node 2");
    }

    @Test
    void connectionsStayInsidePartitions() throws Exception {
        f.engine.partitions(Map.of(0x0001, List.of("red1", "red2"), 0x0002, List.of("blue1", "red2")));
        VerbsFixture.Dom red1 = f.domain(1, "red1");
        VerbsFixture.Dom red2 = f.domain(2, "red2");
        VerbsFixture.Dom blue1 = f.domain(3, "blue1");
        red1.verbs.listen(100);
        blue1.verbs.connect(blue1.qp(), VerbsFixture.NODE, 100, -1, null);
        CmEvent refused = blue1.cmEvent();
        assertThat(refused.type()).isEqualTo(CmEventType.REJECTED);
        assertThat(refused.reason()).contains("no partition");
        assertThat(blue1.vm().counter(Counter.PARTITION_VIOLATIONS)).isEqualTo(1);
        red2.verbs.connect(red2.qp(), VerbsFixture.NODE, 100, 0x0002, null);
        assertThat(red2.cmEvent().reason()).contains("not both in partition 0x2");

        long id = red2.verbs.connect(red2.qp(), VerbsFixture.NODE, 100, -1, null);
        CmEvent request = red1.cmEvent();
        assertThat(request.pkey()).isEqualTo(0x0001);
        red1.verbs.accept(id, red1.qp(), null);
        assertThat(red2.cmEvent().pkey()).isEqualTo(0x0001);
    }

    @Test
    void disconnectFlushesBothSidesAndTellsBoth() throws Exception {
        VerbsFixture.Dom a = f.domain(1, "a");
        VerbsFixture.Dom b = f.domain(2, "b");
        QueuePair[] pair = f.connect(a, b);
        pair[1].postRecv(new RecvWorkRequest().wrId(42));
        a.verbs.disconnect(pair[0]);
        assertThat(a.cmEvent().type()).isEqualTo(CmEventType.DISCONNECTED);
        CmEvent peer = b.cmEvent();
        assertThat(peer.type()).isEqualTo(CmEventType.DISCONNECTED);
        assertThat(peer.reason()).contains("peer");
        assertThat(pair[0].state()).isEqualTo(QpState.ERR);
        assertThat(pair[1].state()).isEqualTo(QpState.ERR);
        assertThat(b.completions()).singleElement()
                .satisfies(wc -> assertThat(wc.status()).isEqualTo(WcStatus.WR_FLUSH_ERR));
    }

    @Test
    void badCallsAreRefused() throws Exception {
        VerbsFixture.Dom a = f.domain(1, "a");
        VerbsFixture.Dom b = f.domain(2, "b");
        a.verbs.listen(5);
        expectErrno(() -> b.verbs.listen(5), VerbsErrno.EEXIST);
        expectErrno(() -> b.verbs.stopListening(5), VerbsErrno.ENOENT);
        expectErrno(() -> b.verbs.connect(b.qp(), 1, 5, -1, new byte[57]), VerbsErrno.EINVAL);
        QueuePair connected = f.connect(b, a)[0];
        expectErrno(() -> b.verbs.connect(connected, 1, 5, -1, null), VerbsErrno.EINVAL);
        expectErrno(() -> a.verbs.reject(12345, ""), VerbsErrno.ENOENT);
        expectErrno(() -> b.verbs.connect(a.qp(), 1, 5, -1, null), VerbsErrno.EINVAL);
    }

    @Test
    void closingTheListenersDomainRejectsItsPendingRequests() throws Exception {
        VerbsFixture.Dom client = f.domain(1, "client");
        VerbsFixture.Dom server = f.domain(2, "server");
        server.verbs.listen(9);
        client.verbs.connect(client.qp(), VerbsFixture.NODE, 9, -1, null);
        f.engine.closeDomain(2);
        CmEvent event = client.cmEvent();
        assertThat(event.type()).isEqualTo(CmEventType.REJECTED);
        assertThat(event.reason()).contains("went away");
    }
}
