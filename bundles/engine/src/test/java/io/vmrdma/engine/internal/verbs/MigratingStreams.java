package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CompletionQueue;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsContext;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.engine.testkit.Cluster;

/**
 * A VM (the mover) with three streams to each of two peer VMs on other nodes, as an application would run them, and a
 * hypervisor that moves the mover's memory when it migrates. Per peer: RDMA WRITE_WITH_IMM from the mover (the peer
 * checks each message's immediate, length and bytes, in order), SEND both ways (each receiver checks length, bytes
 * and order), and RDMA READ by the mover of a fixed area of the peer (checked against it). Every message has its own
 * length and bytes from a seed, so a byte lost, repeated, misplaced or reordered is seen. The application of the
 * mover stops while it is paused and carries on with the objects the destination hands it.
 */
final class MigratingStreams extends CopiedMemoryArrival {

    static final int SLOT = 4096;
    static final int WINDOW = 8;
    static final int REGION = 1 << 20;
    static final int READ_AREA = 384 * 1024;
    static final int READ_SPAN = 256 * 1024;
    static final long SERVICE = 7000;

    final Cluster cluster;
    final int total;
    final long seed;
    final Peer[] peers;
    final Mover mover;
    /** Pause times of the migrations that completed, in nanoseconds of the cluster's clock. */
    final List<Long> pauses = new ArrayList<>();
    final List<String> failures = new ArrayList<>();
    boolean migrating;

    MigratingStreams(Cluster cluster, int moverNode, int[] peerNodes, int total, long seed) throws VerbsException {
        this.cluster = cluster;
        this.total = total;
        this.seed = seed;
        mover = new Mover(cluster.domain(moverNode, 10, "mover"));
        peers = new Peer[peerNodes.length];
        for (int p = 0; p < peerNodes.length; p++) {
            peers[p] = new Peer(p, cluster.domain(peerNodes[p], 20 + p, "peer" + p));
        }
        for (Peer peer : peers) {
            for (int s = 0; s < 3; s++) {
                QueuePair[] pair = cluster.connect(mover.dom, peer.dom, SERVICE + peer.index * 10 + s);
                mover.qps[peer.index][s] = pair[0];
                peer.qps[s] = pair[1];
            }
            peer.start();
            mover.start(peer);
        }
        for (var engine : cluster.engines()) {
            engine.migrations().arrival(this);
        }
    }

    static int length(int stream, int i) {
        return 1 + (int) ((i * 7919L + stream * 104_729L) % (SLOT - 1));
    }

    byte[] pattern(int stream, int peer, int i) {
        byte[] bytes = new byte[length(stream, i)];
        new Random(seed * 1_000_003L + stream * 100_000L + peer * 10_000_000L + i).nextBytes(bytes);
        return bytes;
    }

    /** Moves the mover to {@code node}, streams running; returns when the move committed or failed. */
    io.vmrdma.api.DomainMigration.Listener progress() {
        return new io.vmrdma.api.DomainMigration.Listener() {
            @Override
            public void paused(int totalBytes) {
                migrating = true;
            }

            @Override
            public void completed(long pauseNanos) {
                pauses.add(pauseNanos);
                migrating = false;
            }

            @Override
            public void failed(String why) {
                failures.add(why);
                migrating = false;
            }
        };
    }

    /** One round: every application polls and posts, every engine does one duty cycle, time moves on. */
    int step() throws VerbsException {
        if (!migrating) {
            mover.step();
        }
        for (Peer peer : peers) {
            peer.step();
        }
        int work = 0;
        for (VerbsEngine engine : cluster.engines()) {
            work += engine.doWork();
        }
        cluster.advance(work == 0 ? 100_000 : 1_000);
        return work;
    }

    boolean done() {
        for (Peer peer : peers) {
            if (peer.writesSeen < total || peer.sendsSeen < total || mover.readsDone[peer.index] < total
                    || mover.sendsSeen[peer.index] < total || mover.writesDone[peer.index] < total
                    || mover.sendsDone[peer.index] < total || peer.sendsDone < total) {
                return false;
            }
        }
        return true;
    }

    /** Operations of every stream that completed, summed: a measure of progress. */
    long progressCount() {
        long sum = 0;
        for (Peer peer : peers) {
            sum += peer.writesSeen + peer.sendsSeen + mover.readsDone[peer.index] + mover.sendsSeen[peer.index];
        }
        return sum;
    }

    // ----------------------------------------------------------------------------------------------------------
    // The hypervisor's part: the mover's memory, copied while it is paused

    @Override
    ByteBuffer sourceMemory(long address) {
        return mover.memory;
    }

    @Override
    void copied(long address, ByteBuffer copy) {
        mover.arrivingMemory = copy;
    }

    @Override
    public void arrived(VerbsContext verbs, ArrivedObjects objects) {
        mover.rebind(verbs, objects);
    }

    @Override
    public void abandoned(int domid, String name) {
        mover.arrivingMemory = null;
    }

    // ----------------------------------------------------------------------------------------------------------

    /** The mover's application: for peer p its memory holds, from p × 512 KiB, 16 slots each of write sources, send
     * sources, read targets and receive buffers. */
    final class Mover {
        final Cluster.Dom dom;
        VerbsContext verbs;
        CompletionQueue cq;
        MemoryRegion region;
        ByteBuffer memory;
        ByteBuffer arrivingMemory;
        final QueuePair[][] qps;
        final int[] writesPosted;
        final int[] writesDone;
        final int[] sendsPosted;
        final int[] sendsDone;
        final int[] readsPosted;
        final int[] readsDone;
        final int[] sendsSeen;
        final Map<Integer, int[]> streamOfQpn = new HashMap<>();

        Mover(Cluster.Dom dom) throws VerbsException {
            this.dom = dom;
            verbs = dom.verbs;
            cq = dom.cq;
            memory = ByteBuffer.allocateDirect(REGION);
            region = verbs.regMr(dom.pd, memory, 0x7000_0000L, AccessFlags.ALL);
            qps = new QueuePair[2][3];
            writesPosted = new int[2];
            writesDone = new int[2];
            sendsPosted = new int[2];
            sendsDone = new int[2];
            readsPosted = new int[2];
            readsDone = new int[2];
            sendsSeen = new int[2];
        }

        long base(int peer) {
            return region.address() + peer * (REGION / 2L);
        }

        void start(Peer peer) throws VerbsException {
            for (int s = 0; s < 3; s++) {
                streamOfQpn.put(qps[peer.index][s].address().qpn(), new int[] {peer.index, s});
            }
            for (int r = 0; r < 16; r++) {
                postRecv(peer.index, r);
            }
        }

        void postRecv(int p, int slot) throws VerbsException {
            RecvWorkRequest recv = new RecvWorkRequest().wrId(slot);
            recv.sgl().add(base(p) + 192 * 1024 + slot * (long) SLOT, SLOT, region.lkey());
            qps[p][1].postRecv(recv);
        }

        void rebind(VerbsContext arrivedVerbs, ArrivedObjects objects) {
            verbs = arrivedVerbs;
            cq = objects.cqs().get(cq instanceof Cq c ? c.handle() : -1);
            region = objects.regions().get(region.lkey());
            memory = arrivingMemory;
            for (QueuePair[] row : qps) {
                for (int s = 0; s < 3; s++) {
                    row[s] = objects.qps().get(row[s].address().qpn());
                }
            }
        }

        void step() throws VerbsException {
            WorkCompletion wc = new WorkCompletion();
            while (cq.poll(wc)) {
                assertThat(wc.status()).as("mover: %s", wc).isEqualTo(WcStatus.SUCCESS);
                int[] ps = streamOfQpn.get(wc.qpn());
                int p = ps[0];
                switch (wc.opcode()) {
                    case RDMA_WRITE -> {
                        assertThat(wc.wrId()).isEqualTo(writesDone[p]);
                        writesDone[p]++;
                    }
                    case SEND -> {
                        assertThat(wc.wrId()).isEqualTo(sendsDone[p]);
                        sendsDone[p]++;
                    }
                    case RDMA_READ -> {
                        int i = (int) wc.wrId();
                        assertThat(i).isEqualTo(readsDone[p]);
                        byte[] got = new byte[length(2, i)];
                        memory.get((int) (base(p) - region.address()) + 128 * 1024 + (i % 16) * SLOT, got);
                        assertThat(got).as("READ %d from peer %d", i, p)
                                .isEqualTo(peers[p].readArea(readOffset(i), got.length));
                        readsDone[p]++;
                    }
                    case RECV -> {
                        int slot = (int) wc.wrId();
                        byte[] expected = pattern(3, p, sendsSeen[p]);
                        assertThat(wc.byteLength()).as("SEND %d from peer %d", sendsSeen[p], p)
                                .isEqualTo(expected.length);
                        byte[] got = new byte[expected.length];
                        memory.get((int) (base(p) - region.address()) + 192 * 1024 + slot * SLOT, got);
                        assertThat(got).as("SEND %d from peer %d", sendsSeen[p], p).isEqualTo(expected);
                        sendsSeen[p]++;
                        postRecv(p, slot);
                    }
                    default -> throw new AssertionError("mover: unexpected " + wc);
                }
            }
            for (Peer peer : peers) {
                int p = peer.index;
                while (writesPosted[p] < total && writesPosted[p] - writesDone[p] < WINDOW) {
                    int i = writesPosted[p]++;
                    long at = fill(base(p) + (i % 16) * (long) SLOT, pattern(0, p, i));
                    SendWorkRequest wr = new SendWorkRequest().wrId(i).opcode(Opcode.RDMA_WRITE_WITH_IMM)
                            .immData(i).sendFlags(SendFlags.SIGNALED).rkey(peer.region.rkey())
                            .remoteAddress(peer.region.address() + (i % 64) * (long) SLOT);
                    wr.sgl().add(at, length(0, i), region.lkey());
                    qps[p][0].postSend(wr);
                }
                while (sendsPosted[p] < total && sendsPosted[p] - sendsDone[p] < WINDOW) {
                    int i = sendsPosted[p]++;
                    long at = fill(base(p) + 64 * 1024 + (i % 16) * (long) SLOT, pattern(1, p, i));
                    SendWorkRequest wr = new SendWorkRequest().wrId(i).opcode(Opcode.SEND)
                            .sendFlags(SendFlags.SIGNALED);
                    wr.sgl().add(at, length(1, i), region.lkey());
                    qps[p][1].postSend(wr);
                }
                while (readsPosted[p] < total && readsPosted[p] - readsDone[p] < WINDOW) {
                    int i = readsPosted[p]++;
                    SendWorkRequest wr = new SendWorkRequest().wrId(i).opcode(Opcode.RDMA_READ)
                            .sendFlags(SendFlags.SIGNALED).rkey(peer.region.rkey())
                            .remoteAddress(peer.region.address() + READ_AREA + readOffset(i));
                    wr.sgl().add(base(p) + 128 * 1024 + (i % 16) * (long) SLOT, length(2, i), region.lkey());
                    qps[p][2].postSend(wr);
                }
            }
        }

        private long fill(long address, byte[] bytes) {
            ByteBuffer m = memory.duplicate();
            m.position((int) (address - region.address()));
            m.put(bytes);
            return address;
        }
    }

    static int readOffset(int i) {
        return (int) ((i * 4099L) % (READ_SPAN - SLOT));
    }

    /** A peer's application: its memory holds 64 write targets, 32 receive buffers, a read area, 16 send sources. */
    final class Peer {
        final int index;
        final Cluster.Dom dom;
        final MemoryRegion region;
        final ByteBuffer memory;
        final QueuePair[] qps = new QueuePair[3];
        int writesSeen;
        int sendsSeen;
        int sendsPosted;
        int sendsDone;

        Peer(int index, Cluster.Dom dom) throws VerbsException {
            this.index = index;
            this.dom = dom;
            memory = ByteBuffer.allocateDirect(REGION);
            byte[] readArea = new byte[READ_SPAN];
            new Random(seed + 77 + index).nextBytes(readArea);
            memory.put(READ_AREA, readArea);
            region = dom.verbs.regMr(dom.pd, memory, 0x2000_0000L + index * 0x100_0000L, AccessFlags.ALL);
        }

        byte[] readArea(int offset, int length) {
            byte[] out = new byte[length];
            memory.get(READ_AREA + offset, out);
            return out;
        }

        void start() throws VerbsException {
            for (int r = 0; r < 32; r++) {
                qps[0].postRecv(new RecvWorkRequest().wrId(r));
                postSendRecv(r);
            }
        }

        private void postSendRecv(int slot) throws VerbsException {
            RecvWorkRequest recv = new RecvWorkRequest().wrId(slot);
            recv.sgl().add(region.address() + 256 * 1024 + slot * (long) SLOT, SLOT, region.lkey());
            qps[1].postRecv(recv);
        }

        void step() throws VerbsException {
            WorkCompletion wc = new WorkCompletion();
            while (dom.cq.poll(wc)) {
                assertThat(wc.status()).as("peer %d: %s", index, wc).isEqualTo(WcStatus.SUCCESS);
                if (wc.opcode() == WcOpcode.RECV_RDMA_WITH_IMM) {
                    int i = writesSeen;
                    assertThat(wc.immData()).as("WRITE order at peer %d", index).isEqualTo(i);
                    byte[] expected = pattern(0, index, i);
                    assertThat(wc.byteLength()).isEqualTo(expected.length);
                    byte[] got = new byte[expected.length];
                    memory.get((i % 64) * SLOT, got);
                    assertThat(got).as("WRITE %d at peer %d", i, index).isEqualTo(expected);
                    writesSeen++;
                    qps[0].postRecv(new RecvWorkRequest().wrId(i));
                } else if (wc.opcode() == WcOpcode.RECV) {
                    int slot = (int) wc.wrId();
                    byte[] expected = pattern(1, index, sendsSeen);
                    assertThat(wc.byteLength()).as("SEND %d at peer %d", sendsSeen, index)
                            .isEqualTo(expected.length);
                    byte[] got = new byte[expected.length];
                    memory.get(256 * 1024 + slot * SLOT, got);
                    assertThat(got).as("SEND %d at peer %d", sendsSeen, index).isEqualTo(expected);
                    sendsSeen++;
                    postSendRecv(slot);
                } else if (wc.opcode() == WcOpcode.SEND) {
                    assertThat(wc.wrId()).isEqualTo(sendsDone);
                    sendsDone++;
                } else {
                    throw new AssertionError("peer " + index + ": unexpected " + wc);
                }
            }
            while (sendsPosted < total && sendsPosted - sendsDone < WINDOW) {
                int i = sendsPosted++;
                int at = 640 * 1024 + (i % 16) * SLOT;
                memory.put(at, pattern(3, index, i));
                SendWorkRequest wr = new SendWorkRequest().wrId(i).opcode(Opcode.SEND).sendFlags(SendFlags.SIGNALED);
                wr.sgl().add(region.address() + at, length(3, i), region.lkey());
                qps[1].postSend(wr);
            }
        }
    }
}
