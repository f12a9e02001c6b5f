package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.List;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.engine.internal.congestion.CongestionSettings;
import io.vmrdma.engine.internal.transport.Peer;
import io.vmrdma.engine.testkit.Cluster;
import io.vmrdma.nic.faults.Faults;
import org.junit.jupiter.api.Test;

/**
 * The per-peer window, here fixed (congestion control off): however many queue pairs write to one node, their
 * unacknowledged data together stays within {@link #WINDOW} (plus the one frame a queue pair with nothing
 * outstanding may always send), and what a queue pair counted is given back when it completes, fails or is
 * destroyed.
 */
class PeerWindowTest {

    private static final int MTU = 9000;
    private static final int QPS = 8;
    private static final int BYTES = 4 << 20;
    private static final long WINDOW = CongestionSettings.FIXED.maxWindow();

    @Test
    void eightQueuePairsShareTheWindowAndGiveItBack() throws Exception {
        try (Cluster c = new Cluster(2, MTU, Faults.NONE, 41)) {
            c.node(1).congestion(CongestionSettings.FIXED);
            Cluster.Dom a = c.domain(1, 1, "a");
            Cluster.Dom b = c.domain(2, 2, "b");
            ByteBuffer source = ByteBuffer.allocateDirect(BYTES);
            byte[] pattern = new byte[BYTES];
            new java.util.Random(41).nextBytes(pattern);
            source.put(0, pattern);
            ByteBuffer target = ByteBuffer.allocateDirect(QPS * BYTES);
            MemoryRegion from = a.verbs.regMr(a.pd, source, 0x1000_0000L, AccessFlags.LOCAL_WRITE);
            MemoryRegion to = b.verbs.regMr(b.pd, target, 0x2000_0000L, AccessFlags.ALL);
            QueuePair[] qps = new QueuePair[QPS];
            for (int i = 0; i < QPS; i++) {
                qps[i] = c.connect(a, b, 100 + i)[0];
            }
            Peer peer = c.node(1).transport().peers().get(2);
            for (int i = 0; i < QPS; i++) {
                SendWorkRequest write = new SendWorkRequest().wrId(i).opcode(Opcode.RDMA_WRITE)
                        .sendFlags(SendFlags.SIGNALED).remoteAddress(to.address() + (long) i * BYTES).rkey(to.rkey());
                write.sgl().add(from.address(), BYTES, from.lkey());
                qps[i].postSend(write);
            }
            long most = 0;
            while (a.drainCq().size() < QPS) {
                // Node 2 answers only every 64th round, so node 1 sends as far as the windows let it.
                for (int round = 0; round < 64; round++) {
                    c.node(1).doWork();
                    c.advance(1_000);
                    most = Math.max(most, peer.windowBytes());
                }
                c.node(2).doWork();
            }
            assertThat(a.polled).extracting(WorkCompletion::status).containsOnly(WcStatus.SUCCESS);
            assertThat(most).as("the window was used").isGreaterThan(WINDOW / 2)
                    .isLessThanOrEqualTo(WINDOW + (long) QPS * MTU);
            assertThat(peer.windowBytes()).as("all acknowledged: nothing counted").isZero();
            byte[] arrived = new byte[BYTES];
            for (int i = 0; i < QPS; i++) {
                target.get(i * BYTES, arrived);
                assertThat(arrived).as("queue pair %d's bytes", i).isEqualTo(pattern);
            }

            // Destroyed with data in flight: what it counted is given back.
            SendWorkRequest more = new SendWorkRequest().wrId(99).opcode(Opcode.RDMA_WRITE)
                    .remoteAddress(to.address()).rkey(to.rkey());
            more.sgl().add(from.address(), BYTES, from.lkey());
            qps[0].postSend(more);
            c.node(1).doWork();
            assertThat(peer.windowBytes()).isPositive();
            a.verbs.destroyQp(qps[0]);
            assertThat(peer.windowBytes()).isZero();
            List<WorkCompletion> none = a.drainCq();
            assertThat(none).hasSize(QPS);
        }
    }
}
