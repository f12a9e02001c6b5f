package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.List;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CompletionQueue;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.engine.testkit.Cluster;
import io.vmrdma.engine.testkit.SeverableLink;
import io.vmrdma.nic.faults.Faults;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A VM on node 1 with WRITE, SEND (both ways) and READ streams to a VM on node 2 and one on node 3 migrates to node 3
 * and back while the streams run: every message arrives once, whole and in order, every completion is a success, and
 * the applications never start again. A migration whose destination dies, or whose link drops while the state is on
 * its way, leaves the VM running on node 1 with its streams going.
 */
class MigrationTest {

    private static final int MTU = 2048;

    private static void runUntil(MigratingStreams streams, java.util.function.BooleanSupplier done, long maxNanos)
            throws VerbsException {
        long until = streams.cluster.now() + maxNanos;
        while (!done.getAsBoolean()) {
            streams.step();
            assertThat(streams.cluster.now()).as("simulated time ran out").isLessThan(until);
        }
    }

    private static void runOps(MigratingStreams streams, long ops) throws VerbsException {
        long target = streams.progressCount() + ops;
        runUntil(streams, () -> streams.progressCount() >= target || streams.done(), 30_000_000_000L);
    }

    @Test
    void aVmMigratesToAPeersNodeAndBackWithItsStreamsRunning() throws Exception {
        migrateThereAndBack(Faults.NONE, 11);
    }

    /** The same on a wire that loses, duplicates, reorders and corrupts 2 % of the frames, migration frames too. */
    @ParameterizedTest
    @ValueSource(longs = {21, 22, 23})
    void aVmMigratesThereAndBackOverAFaultyWire(long seed) throws Exception {
        migrateThereAndBack(Faults.uniform(0.02), seed);
    }

    private static void migrateThereAndBack(Faults faults, long seed) throws Exception {
        try (Cluster cluster = new Cluster(3, MTU, faults, seed)) {
            MigratingStreams streams = new MigratingStreams(cluster, 1, new int[] {2, 3}, 600, seed);
            runOps(streams, 400);

            cluster.node(1).migrations().migrate(10, 3, streams.progress());
            runUntil(streams, () -> !streams.migrating && !streams.pauses.isEmpty(), 5_000_000_000L);
            assertThat(cluster.node(1).domain(10)).isEmpty();
            assertThat(cluster.node(3).domain(10)).isPresent();
            runOps(streams, 400);

            cluster.node(3).migrations().migrate(10, 1, streams.progress());
            runUntil(streams, () -> !streams.migrating && streams.pauses.size() == 2, 5_000_000_000L);
            assertThat(cluster.node(3).domain(10)).isEmpty();
            assertThat(cluster.node(1).domain(10)).isPresent();
            runUntil(streams, streams::done, 60_000_000_000L);

            assertThat(streams.failures).isEmpty();
            assertThat(cluster.node(1).counter(Counter.MIGRATIONS_OUT)).isEqualTo(1);
            assertThat(cluster.node(3).counter(Counter.MIGRATIONS_IN)).isEqualTo(1);
            assertThat(cluster.node(3).counter(Counter.MIGRATIONS_OUT)).isEqualTo(1);
            assertThat(cluster.node(1).counter(Counter.MIGRATIONS_IN)).isEqualTo(1);
            // Node 2's three queue pairs followed the VM there and back; node 3's were joined and split in place.
            assertThat(cluster.node(2).counter(Counter.QP_MOVES)).isEqualTo(6);
            assertThat(cluster.node(2).counter(Counter.QP_MOVES_REFUSED)).isZero();
        }
    }

    @Test
    void aMigrationWhoseDestinationDiesLeavesTheVmRunningOnTheSource() throws Exception {
        try (Cluster cluster = new Cluster(3, MTU, Faults.NONE, 12)) {
            MigratingStreams streams = new MigratingStreams(cluster, 1, new int[] {2}, 400, 12);
            runOps(streams, 200);

            cluster.node(1).migrations().migrate(10, 3, new io.vmrdma.api.DomainMigration.Listener() {
                @Override
                public void paused(int totalBytes) {
                    streams.progress().paused(totalBytes);
                    // The destination's host fails as the state starts on its way.
                    cluster.node(3).nic(null);
                    cluster.ports().get(2).close();
                }

                @Override
                public void completed(long pauseNanos) {
                    streams.progress().completed(pauseNanos);
                }

                @Override
                public void failed(String why) {
                    streams.failures.add(why);
                    streams.migrating = false;
                }
            });
            runUntil(streams, () -> !streams.failures.isEmpty(), 5_000_000_000L);
            assertThat(streams.failures.get(0)).contains("node 3");
            assertThat(cluster.node(1).domain(10)).isPresent();
            runUntil(streams, streams::done, 60_000_000_000L);
            assertThat(cluster.node(1).counter(Counter.MIGRATIONS_FAILED)).isEqualTo(1);
            assertThat(cluster.node(1).counter(Counter.MIGRATIONS_OUT)).isZero();
        }
    }

    @Test
    void aLinkThatDropsWhileTheStateIsOnItsWayLeavesTheVmRunningOnTheSource() throws Exception {
        try (Cluster cluster = new Cluster(3, MTU, Faults.NONE, 13)) {
            SeverableLink link = new SeverableLink(cluster.nics().get(0), cluster.wire().address(3));
            cluster.node(1).nic(link);
            MigratingStreams streams = new MigratingStreams(cluster, 1, new int[] {2, 3}, 400, 13);
            runOps(streams, 200);

            cluster.node(1).migrations().migrate(10, 3, new io.vmrdma.api.DomainMigration.Listener() {
                @Override
                public void paused(int totalBytes) {
                    streams.migrating = true;
                    link.cut();
                }

                @Override
                public void completed(long pauseNanos) {
                    streams.pauses.add(pauseNanos);
                    streams.migrating = false;
                }

                @Override
                public void failed(String why) {
                    streams.failures.add(why);
                    streams.migrating = false;
                }
            });
            runUntil(streams, () -> !streams.failures.isEmpty(), 5_000_000_000L);
            link.mend();
            assertThat(link.dropped()).isPositive();
            assertThat(cluster.node(1).domain(10)).isPresent();
            runUntil(streams, streams::done, 60_000_000_000L);
            // The destination gave up its half-built copy.
            runUntil(streams, () -> cluster.node(3).domain(10).isEmpty(), 10_000_000_000L);
            assertThat(streams.pauses).isEmpty();
        }
    }

    @Test
    void aForgedQpMovedNoticeIsRefusedAndCounted() throws Exception {
        try (Cluster cluster = new Cluster(3, MTU, Faults.NONE, 14)) {
            MigratingStreams streams = new MigratingStreams(cluster, 1, new int[] {2}, 50, 14);
            runOps(streams, 20);
            var peerQp = streams.peers[0].qps[1];
            var moverQp = streams.mover.qps[0][1];
            long connectionId = ((Qp) peerQp).wire().connectionId();
            // Node 3 holds the cluster secret but is not where the mover's queue pair is: it cannot move it.
            var node3 = cluster.node(3);
            node3.transport().migrationWire().sendMoved(node3.transport().peers().get(2),
                    io.vmrdma.engine.internal.wire.FrameType.QP_MOVED, peerQp.address().qpn(),
                    moverQp.address().qpn(), peerQp.pkey(), connectionId, 3);
            node3.transport().port().flush();
            runOps(streams, 10);
            assertThat(cluster.node(2).counter(Counter.QP_MOVES_REFUSED)).isEqualTo(1);
            assertThat(peerQp.remote().node()).isEqualTo(1);
            runUntil(streams, streams::done, 60_000_000_000L);
        }
    }

    @Test
    void onlyADomainOfThisNodeMigratesAndOnlyToAnUpPeer() throws Exception {
        try (Cluster cluster = new Cluster(2, MTU, Faults.NONE, 15)) {
            cluster.domain(1, 5, "five");
            assertThatThrownBy(() -> cluster.node(1).migrations().migrate(6, 2, null))
                    .isInstanceOf(VerbsException.class);
            assertThatThrownBy(() -> cluster.node(1).migrations().migrate(5, 9, null))
                    .isInstanceOf(VerbsException.class);
            assertThatThrownBy(() -> cluster.node(1).migrations().migrate(5, 1, null))
                    .isInstanceOf(VerbsException.class);
        }
    }

    /**
     * The source had received part of a peer's WRITE out of order (a hole, the rest selectively acknowledged) when the
     * VM moved: what it held beyond the hole is not in the image, so the peer, told by QP_MOVED, sends the whole
     * window again to the new node, and the next message gets through.
     */
    @Test
    void aPeerSendsAgainWhatTheSourceHadReceivedOutOfOrder() throws Exception {
        try (Cluster cluster = new Cluster(3, MTU, Faults.NONE, 16)) {
            HoleInOneWrite hole = new HoleInOneWrite(cluster.nics().get(0));
            cluster.node(1).nic(hole);
            Cluster.Dom mover = cluster.domain(1, 10, "mover");
            Cluster.Dom peer = cluster.domain(2, 20, "peer");
            ByteBuffer[] memory = {ByteBuffer.allocateDirect(1 << 16)};
            MemoryRegion target = mover.verbs.regMr(mover.pd, memory[0], 0x5000_0000L, AccessFlags.ALL);
            MemoryRegion source = peer.region(1 << 16, AccessFlags.ALL, 3);
            QueuePair[] pair = cluster.connect(peer, mover, 31);
            pair[1].postRecv(new RecvWorkRequest().wrId(1));
            CompletionQueue[] moverCq = {mover.cq};
            for (VerbsEngine engine : cluster.engines()) {
                engine.migrations().arrival(new CopiedMemoryArrival() {
                    @Override
                    ByteBuffer sourceMemory(long address) {
                        return memory[0];
                    }

                    @Override
                    void copied(long address, ByteBuffer copy) {
                        memory[0] = copy;
                    }

                    @Override
                    public void arrived(io.vmrdma.api.verbs.VerbsContext verbs, ArrivedObjects objects) {
                        moverCq[0] = objects.cqs().get(((Cq) mover.cq).handle());
                    }

                    @Override
                    public void abandoned(int domid, String name) {
                    }
                });
            }
            SendWorkRequest write = new SendWorkRequest().wrId(1).opcode(Opcode.RDMA_WRITE).rkey(target.rkey())
                    .remoteAddress(target.address()).sendFlags(SendFlags.SIGNALED);
            write.sgl().add(source.address(), 32 * 1024, source.lkey());
            pair[0].postSend(write);
            hole.armed = true;
            cluster.node(2).doWork();
            cluster.node(1).doWork();
            assertThat(hole.dropped).isEqualTo(1);

            // Node 2 hears nothing more until the VM runs on node 3: the selective ACK then reaches it first.
            boolean[] moved = {false};
            cluster.node(1).migrations().migrate(10, 3, completes(moved));
            for (int round = 0; !moved[0]; round++) {
                assertThat(round).isLessThan(1000);
                cluster.node(1).doWork();
                cluster.node(3).doWork();
                cluster.advance(1_000);
            }
            SendWorkRequest last = new SendWorkRequest().wrId(2).opcode(Opcode.RDMA_WRITE_WITH_IMM).immData(7)
                    .rkey(target.rkey()).remoteAddress(target.address() + 40_000).sendFlags(SendFlags.SIGNALED);
            last.sgl().add(source.address() + 40_000, 100, source.lkey());
            pair[0].postSend(last);
            WorkCompletion wc = new WorkCompletion();
            cluster.runUntil(() -> moverCq[0].poll(wc), 2_000_000_000L);
            assertThat(wc.immData()).isEqualTo(7);
            assertThat(cluster.node(2).counter(Counter.QP_MOVES)).isEqualTo(1);
            byte[] landed = new byte[32 * 1024];
            memory[0].get(0, landed);
            assertThat(landed).isEqualTo(VerbsFixture.bytes(source, source.address(), 32 * 1024));
            cluster.runUntil(() -> peer.drainCq().size() == 2, 2_000_000_000L);
            assertThat(peer.polled).extracting(WorkCompletion::status).containsOnly(WcStatus.SUCCESS);
        }
    }

    /**
     * A VM with two processes, each its own device with its own objects, moves with both: on the new node each device
     * has its number, process, handles, keys, posted receives and listener, the two devices' connection to each other
     * goes on memory to memory, and a peer's writes land byte for byte in each.
     */
    @Test
    void aVmWithTwoProcessesMovesWithBothDevices() throws Exception {
        try (Cluster cluster = new Cluster(3, MTU, Faults.NONE, 17)) {
            Cluster.Dom first = cluster.device(1, 10, 0, "mover", 500);
            Cluster.Dom second = cluster.device(1, 10, 1, "mover", 501);
            Cluster.Dom peer = cluster.domain(2, 20, "peer");
            java.util.Map<Long, ByteBuffer> memory = new java.util.HashMap<>();
            MemoryRegion[] targets = new MemoryRegion[2];
            Cluster.Dom[] devices = {first, second};
            for (int d = 0; d < 2; d++) {
                long address = 0x6000_0000L + d * 0x10_0000L;
                memory.put(address, ByteBuffer.allocateDirect(1 << 16));
                targets[d] = devices[d].verbs.regMr(devices[d].pd, memory.get(address), address, AccessFlags.ALL);
            }
            QueuePair[] toFirst = cluster.connect(peer, first, 41);
            QueuePair[] toSecond = cluster.connect(peer, second, 42);
            QueuePair[] firstToSecond = cluster.connect(first, second, 43);
            second.verbs.listen(44);
            toFirst[1].postRecv(new RecvWorkRequest().wrId(1));
            toSecond[1].postRecv(new RecvWorkRequest().wrId(2));
            firstToSecond[1].postRecv(new RecvWorkRequest().wrId(3));

            java.util.Map<Integer, io.vmrdma.api.verbs.VerbsContext> arrivedVerbs = new java.util.TreeMap<>();
            java.util.Map<Integer, ArrivedObjects> arrivedObjects = new java.util.TreeMap<>();
            cluster.node(3).migrations().arrival(new CopiedMemoryArrival() {
                @Override
                ByteBuffer sourceMemory(long address) {
                    return memory.get(address);
                }

                @Override
                void copied(long address, ByteBuffer copy) {
                    memory.put(address, copy);
                }

                @Override
                public void arrived(io.vmrdma.api.verbs.VerbsContext verbs, ArrivedObjects objects) {
                    int devid = ((DeviceVerbs) verbs).devid();
                    arrivedVerbs.put(devid, verbs);
                    arrivedObjects.put(devid, objects);
                }

                @Override
                public void abandoned(int domid, String name) {
                    throw new AssertionError("dom " + domid + " abandoned");
                }
            });
            boolean[] moved = {false};
            cluster.node(1).migrations().migrate(10, 3, completes(moved));
            cluster.runUntil(() -> moved[0] && arrivedVerbs.size() == 2, 5_000_000_000L);
            assertThat(cluster.node(1).domain(10)).isEmpty();
            assertThat(cluster.node(3).domain(10).orElseThrow().devices())
                    .containsExactly(new io.vmrdma.api.DeviceInfo(0, 500), new io.vmrdma.api.DeviceInfo(1, 501));

            MemoryRegion source = peer.region(1 << 16, AccessFlags.ALL, 5);
            QueuePair[] writers = {toFirst[0], toSecond[0]};
            for (int d = 0; d < 2; d++) {
                SendWorkRequest write = new SendWorkRequest().wrId(10 + d).opcode(Opcode.RDMA_WRITE_WITH_IMM)
                        .immData(100 + d).rkey(targets[d].rkey()).remoteAddress(targets[d].address() + 64)
                        .sendFlags(SendFlags.SIGNALED);
                write.sgl().add(source.address() + d * 4096L, 4096, source.lkey());
                writers[d].postSend(write);
            }
            QueuePair movedFirstToSecond = arrivedObjects.get(0).qps().get(firstToSecond[0].address().qpn());
            SendWorkRequest local = new SendWorkRequest().wrId(20).opcode(Opcode.RDMA_WRITE_WITH_IMM).immData(300)
                    .rkey(targets[1].rkey()).remoteAddress(targets[1].address() + 32_768);
            local.sgl().add(targets[0].address() + 64, 4096, targets[0].lkey());
            movedFirstToSecond.postSend(local);

            List<List<WorkCompletion>> received = List.of(new java.util.ArrayList<>(), new java.util.ArrayList<>());
            cluster.runUntil(() -> poll(arrivedObjects, first, second, received), 2_000_000_000L);
            assertThat(received.get(0)).extracting(WorkCompletion::immData).containsExactly(100);
            assertThat(received.get(0)).extracting(WorkCompletion::wrId).containsExactly(1L);
            assertThat(received.get(1)).extracting(WorkCompletion::immData).containsExactlyInAnyOrder(101, 300);
            assertThat(received.get(1)).extracting(WorkCompletion::status).containsOnly(WcStatus.SUCCESS);
            for (int d = 0; d < 2; d++) {
                byte[] landed = new byte[4096];
                memory.get(targets[d].address()).get(64, landed);
                assertThat(landed).isEqualTo(VerbsFixture.bytes(source, source.address() + d * 4096L, 4096));
            }
            byte[] copied = new byte[4096];
            memory.get(targets[1].address()).get(32_768, copied);
            assertThat(copied).isEqualTo(VerbsFixture.bytes(source, source.address(), 4096));

            // The second device's listener moved with it, and only with it.
            QueuePair caller = peer.qp();
            peer.verbs.connect(caller, 3, 44, -1, null);
            io.vmrdma.api.verbs.CmEvent request = new io.vmrdma.api.verbs.CmEvent();
            cluster.runUntil(() -> arrivedVerbs.get(1).pollCmEvent(request), 2_000_000_000L);
            assertThat(request.type()).isEqualTo(io.vmrdma.api.verbs.CmEventType.CONNECT_REQUEST);
            assertThat(request.serviceId()).isEqualTo(44);
            assertThat(arrivedVerbs.get(0).pollCmEvent(new io.vmrdma.api.verbs.CmEvent())).isFalse();
        }
    }

    /** Polls each arrived device's completion queue for receives; true once three came in all. */
    private static boolean poll(java.util.Map<Integer, ArrivedObjects> objects, Cluster.Dom first, Cluster.Dom second,
                                List<List<WorkCompletion>> received) {
        Cluster.Dom[] devices = {first, second};
        for (int d = 0; d < 2; d++) {
            CompletionQueue cq = objects.get(d).cqs().get(((Cq) devices[d].cq).handle());
            WorkCompletion wc = new WorkCompletion();
            while (cq.poll(wc)) {
                if (wc.opcode() == io.vmrdma.api.verbs.WcOpcode.RECV_RDMA_WITH_IMM) {
                    received.get(d).add(wc);
                    wc = new WorkCompletion();
                }
            }
        }
        return received.get(0).size() + received.get(1).size() == 3;
    }

    /** A migration that must succeed: sets {@code moved[0]} when it did. */
    private static io.vmrdma.api.DomainMigration.Listener completes(boolean[] moved) {
        return new io.vmrdma.api.DomainMigration.Listener() {
            @Override
            public void paused(int stateBytes) {
            }

            @Override
            public void completed(long pauseNanos) {
                moved[0] = true;
            }

            @Override
            public void failed(String reason) {
                throw new AssertionError(reason);
            }
        };
    }

    /** Drops the first WRITE frame that arrives once armed: one hole in a message, the rest of it received. */
    private static final class HoleInOneWrite extends io.vmrdma.nic.faults.ForwardingNicPort {
        boolean armed;
        int dropped;

        HoleInOneWrite(io.vmrdma.api.nic.NicPort inner) {
            super(inner);
        }

        @Override
        public int poll(io.vmrdma.api.nic.FrameHandler handler, int frameLimit) {
            return inner.poll((buffer, offset, length, from) -> {
                if (armed && buffer.get(offset + 1) == 0x10) {
                    armed = false;
                    dropped++;
                } else {
                    handler.onFrame(buffer, offset, length, from);
                }
            }, frameLimit);
        }
    }
}
