package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import io.vmrdma.api.MemoryRegionInfo;
import io.vmrdma.api.QueuePairInfo;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import org.junit.jupiter.api.Test;

class VerbsSnapshotsTest {

    private final VerbsFixture f = new VerbsFixture();

    @Test
    void queuePairsShowConnectionQueueUseAndTraffic() throws Exception {
        VerbsFixture.Dom a = f.domain(3, "web1");
        VerbsFixture.Dom b = f.domain(2, "db1");
        MemoryRegion ma = a.region(8192, AccessFlags.ALL);
        MemoryRegion mb = b.region(8192, AccessFlags.ALL);
        QueuePair[] pair = f.connect(a, b);
        SendWorkRequest write = new SendWorkRequest().wrId(1).opcode(Opcode.RDMA_WRITE)
                .sendFlags(SendFlags.SIGNALED).remoteAddress(mb.address()).rkey(mb.rkey());
        write.sgl().add(ma.address(), 4096, ma.lkey());
        pair[0].postSend(write);
        f.drain();
        RecvWorkRequest recv = new RecvWorkRequest().wrId(2);
        recv.sgl().add(mb.address(), 100, mb.lkey());
        pair[1].postRecv(recv);
        pair[1].postRecv(recv);

        List<QueuePairInfo> qps = VerbsSnapshots.queuePairs(f.engine);

        assertThat(qps).extracting(QueuePairInfo::domid).containsExactly(2, 3);
        QueuePairInfo client = qps.get(1);
        assertThat(client.qpn()).isEqualTo(pair[0].address().qpn());
        assertThat(client.state()).isEqualTo(QpState.RTS);
        assertThat(client.remote()).isEqualTo(pair[1].address());
        assertThat(client.sendDepth()).isEqualTo(256);
        assertThat(client.sendQueued()).isZero();
        assertThat(client.requesterOps()).isEqualTo(1);
        assertThat(client.requesterBytes()).isEqualTo(4096);
        QueuePairInfo server = qps.get(0);
        assertThat(server.recvQueued()).isEqualTo(2);
        assertThat(server.requesterOps()).isZero();
    }

    @Test
    void memoryRegionsCountTheQueuedRequestsThatNameThem() throws Exception {
        VerbsFixture.Dom a = f.domain(5, "web1");
        MemoryRegion used = a.region(4096, AccessFlags.LOCAL_WRITE);
        MemoryRegion idle = a.region(1024, 0);
        QueuePair qp = a.qp();
        f.engine.states().modify((Qp) qp, new io.vmrdma.api.verbs.QpAttributes().state(QpState.INIT).pkey(0x7fff));
        RecvWorkRequest recv = new RecvWorkRequest().wrId(1);
        recv.sgl().add(used.address(), 10, used.lkey()).add(used.address() + 100, 10, used.lkey());
        qp.postRecv(recv);

        List<MemoryRegionInfo> regions = VerbsSnapshots.memoryRegions(f.engine);

        assertThat(regions).hasSize(2);
        MemoryRegionInfo u = regions.stream().filter(r -> r.lkey() == used.lkey()).findFirst().orElseThrow();
        assertThat(u.domid()).isEqualTo(5);
        assertThat(u.rkey()).isEqualTo(used.rkey());
        assertThat(u.address()).isEqualTo(used.address());
        assertThat(u.length()).isEqualTo(4096);
        assertThat(u.access()).isEqualTo(AccessFlags.LOCAL_WRITE);
        assertThat(u.inFlight()).as("one request, however many entries name the region").isEqualTo(1);
        assertThat(regions.stream().filter(r -> r.lkey() == idle.lkey()).findFirst().orElseThrow().inFlight())
                .isZero();
    }
}
