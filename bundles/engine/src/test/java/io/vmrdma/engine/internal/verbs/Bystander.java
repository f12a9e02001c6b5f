package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.engine.testkit.Cluster;

/**
 * Another tenant's transfer that runs beside an attack: a 1 MiB RDMA WRITE from domain "b" on node 2 to domain "a"
 * on node 1, connected through the connection manager, which must complete and arrive byte-identical.
 */
final class Bystander {

    final Cluster.Dom a;
    final Cluster.Dom b;
    final MemoryRegion target;
    final MemoryRegion source;
    /** Node 2's queue pair (the requester of the write, and of the connection), then node 1's. */
    final Qp requester;
    final Qp responder;

    /** Connects the two domains and posts the write; nothing has moved yet. */
    Bystander(Cluster c) throws Exception {
        a = c.domain(1, 1, "a");
        b = c.domain(2, 2, "b");
        target = a.region(1 << 20, AccessFlags.ALL, 1);
        source = b.region(1 << 20, AccessFlags.ALL, 2);
        QueuePair[] pair = c.connect(b, a, 5);
        requester = (Qp) pair[0];
        responder = (Qp) pair[1];
        SendWorkRequest write = new SendWorkRequest().wrId(1).opcode(Opcode.RDMA_WRITE)
                .sendFlags(SendFlags.SIGNALED).remoteAddress(target.address()).rkey(target.rkey());
        write.sgl().add(source.address(), 1 << 20, source.lkey());
        requester.postSend(write);
    }

    /** Runs the cluster until the write completes; asserts its success, every byte, and the connection still up. */
    void assertDelivered(Cluster c) {
        c.runUntil(() -> !b.drainCq().isEmpty(), 5_000_000_000L);
        assertThat(b.polled.get(0).status()).isEqualTo(WcStatus.SUCCESS);
        assertThat(VerbsFixture.snapshot(target)).isEqualTo(VerbsFixture.snapshot(source));
        assertThat(responder.state()).isEqualTo(QpState.RTS);
    }
}
