package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * Random mixes of SEND, SEND_WITH_IMM, RDMA WRITE, WRITE_WITH_IMM and READ, of random sizes, with random gather
 * lists, over several domains and queue pairs, some requests deliberately bad, checked against a byte-exact model:
 * memory identical, every completion with the right status, in order per queue pair, none twice.
 *
 * <p>Each region is cut in four quarters so the result does not depend on how the engine interleaves queue pairs:
 * a source quarter nobody writes, a quarter only the peer's WRITEs and SENDs land in, a quarter only this side's
 * READs land in, and a spare quarter never touched (so a stray write shows). Bad requests are posted between
 * drains, so what the peer does afterwards is determined too. The default run moves messages up to
 * {@value #DEFAULT_MAX_MESSAGE} bytes; {@code -Dvmrdma.long=true} allows up to 16 MiB.
 */
class VerbsPropertyTest {

    private static final int DEFAULT_MAX_MESSAGE = 1 << 20;
    private static final boolean LONG = Boolean.getBoolean("vmrdma.long");
    private static final int MAX_MESSAGE = LONG ? 16 << 20 : DEFAULT_MAX_MESSAGE;

    /** How a side's queue pair stands in the model. */
    private enum Health {
        ALIVE,
        BROKEN,
        ERR
    }

    /** One side of a connected pair: its queue pair, its region, the model of both and the completions due. */
    private static final class Side {
        QueuePair qp;
        MemoryRegion region;
        byte[] model;
        int quarter;
        Health health = Health.ALIVE;
        final List<long[]> sendsDue = new ArrayList<>();
        final List<long[]> recvsDue = new ArrayList<>();
        final ArrayDeque<Long> outstandingRecvs = new ArrayDeque<>();
        long nextWrId;

        long address(int offset) {
            return region.address() + offset;
        }

        /** The queue pair goes to ERR: every receive still posted is flushed, in order. */
        void fail() {
            health = Health.ERR;
            while (!outstandingRecvs.isEmpty()) {
                recvsDue.add(new long[] {outstandingRecvs.poll(), WcStatus.WR_FLUSH_ERR.ordinal(), 0});
            }
        }
    }

    @Property
    void randomTrafficMatchesTheModel(@ForAll @LongRange(min = 1) long seed,
                                      @ForAll @IntRange(min = 1, max = 60) int operations)
            throws Exception {
        Random random = new Random(seed);
        VerbsFixture f = new VerbsFixture();
        f.engine.limits(64, 256, 256, 4096, 1L << 30, 65536, 16384, 16, 1L << 30, 1L << 30);
        f.engine.chunkBytes(1 + random.nextInt(128 * 1024));
        int domains = 2 + random.nextInt(3);
        List<VerbsFixture.Dom> doms = new ArrayList<>();
        for (int d = 1; d <= domains; d++) {
            doms.add(f.domain(d, "vm" + d));
        }
        int pairs = 1 + random.nextInt(4);
        List<Side[]> connections = new ArrayList<>();
        for (int p = 0; p < pairs; p++) {
            VerbsFixture.Dom x = doms.get(random.nextInt(domains));
            VerbsFixture.Dom y = doms.get(random.nextInt(domains));
            QueuePair[] qps = f.connect(x, y);
            connections.add(new Side[] {side(x, qps[0], random), side(y, qps[1], random)});
        }

        for (int op = 0; op < operations; op++) {
            Side[] pair = connections.get(random.nextInt(pairs));
            boolean forward = random.nextBoolean();
            Side requester = forward ? pair[0] : pair[1];
            Side responder = forward ? pair[1] : pair[0];
            boolean bad = random.nextInt(12) == 0;
            if (bad || requester.health != Health.ALIVE) {
                // What follows an error depends on what ran before it: settle everything first.
                f.drain();
            }
            post(requester, responder, random, bad);
            if (bad || requester.health != Health.ALIVE) {
                f.drain();
            }
            if (random.nextInt(5) == 0) {
                f.drain();
            }
        }
        f.drain();

        Map<Integer, List<WorkCompletion>> sends = new HashMap<>();
        Map<Integer, List<WorkCompletion>> recvs = new HashMap<>();
        for (VerbsFixture.Dom d : doms) {
            for (WorkCompletion wc : d.completions()) {
                boolean isRecv = wc.opcode() == WcOpcode.RECV || wc.opcode() == WcOpcode.RECV_RDMA_WITH_IMM;
                (isRecv ? recvs : sends).computeIfAbsent(wc.qpn(), k -> new ArrayList<>()).add(wc);
            }
        }
        for (Side[] pair : connections) {
            for (Side side : pair) {
                assertThat(VerbsFixture.snapshot(side.region)).as("memory of %s", side.qp).isEqualTo(side.model);
                int qpn = side.qp.address().qpn();
                check(side, "send", sends.getOrDefault(qpn, List.of()), side.sendsDue);
                check(side, "receive", recvs.getOrDefault(qpn, List.of()), side.recvsDue);
            }
        }
    }

    private static void check(Side side, String queue, List<WorkCompletion> got, List<long[]> due) {
        assertThat(got).as("%s completions of %s", queue, side.qp).hasSize(due.size());
        for (int i = 0; i < got.size(); i++) {
            long[] want = due.get(i);
            WorkCompletion wc = got.get(i);
            assertThat(wc.wrId()).as("%s completion %d of %s", queue, i, side.qp).isEqualTo(want[0]);
            assertThat(wc.status()).as("status of wr %d", want[0]).isEqualTo(WcStatus.values()[(int) want[1]]);
            if (wc.status() == WcStatus.SUCCESS) {
                assertThat(wc.byteLength()).as("length of wr %d", want[0]).isEqualTo((int) want[2]);
            }
        }
    }

    private static Side side(VerbsFixture.Dom dom, QueuePair qp, Random random) throws Exception {
        Side side = new Side();
        side.qp = qp;
        int cap = random.nextInt(4) == 0 ? MAX_MESSAGE : 64 * 1024;
        side.quarter = Math.max(64, (1 + random.nextInt(cap)) & ~7);
        side.region = dom.region(4 * side.quarter, AccessFlags.ALL);
        side.model = VerbsFixture.snapshot(side.region);
        side.nextWrId = (long) qp.address().qpn() << 32;
        return side;
    }

    /**
     * Posts one request of {@code requester} (and the receive it needs at {@code responder}) and writes down what
     * must come of it. Quarters: [0, q) sources, [q, 2q) where the peer writes, [2q, 3q) where this side's READs
     * land, [3q, 4q) never touched.
     */
    private static void post(Side requester, Side responder, Random random, boolean bad) throws Exception {
        Opcode opcode = Opcode.values()[random.nextInt(Opcode.values().length)];
        int length = random.nextInt(Math.min(requester.quarter, responder.quarter) + 1);
        boolean reads = opcode == Opcode.RDMA_READ;
        int srcOffset = random.nextInt(requester.quarter - length + 1);
        int localOffset = reads ? 2 * requester.quarter + random.nextInt(requester.quarter - length + 1) : srcOffset;
        int remoteOffset = reads ? random.nextInt(responder.quarter - length + 1)
                : responder.quarter + random.nextInt(responder.quarter - length + 1);
        long wrId = requester.nextWrId++;
        SendWorkRequest wr = new SendWorkRequest().wrId(wrId).opcode(opcode).immData(random.nextInt())
                .sendFlags(random.nextInt(4) == 0 ? 0 : SendFlags.SIGNALED)
                .remoteAddress(responder.address(remoteOffset)).rkey(responder.region.rkey());
        gather(wr, requester, localOffset, length, random);

        WcStatus status = WcStatus.SUCCESS;
        boolean usesRkey = opcode == Opcode.RDMA_WRITE || opcode == Opcode.RDMA_WRITE_WITH_IMM || reads;
        if (bad && usesRkey && random.nextBoolean()) {
            if (random.nextBoolean()) {
                wr.rkey(responder.region.rkey() ^ 0x00F0_0F00);
            } else {
                wr.remoteAddress(responder.address(4 * responder.quarter - length + 1));
            }
            status = WcStatus.REM_ACCESS_ERR;
        } else if (bad) {
            wr.sgl().clear();
            wr.sgl().add(requester.address(localOffset), Math.max(1, length), requester.region.lkey() + 1);
            status = WcStatus.LOC_PROT_ERR;
        }

        if (opcode.consumesRecv()) {
            long recvId = responder.nextWrId++;
            RecvWorkRequest recv = new RecvWorkRequest().wrId(recvId);
            if (opcode != Opcode.RDMA_WRITE_WITH_IMM) {
                recv.sgl().add(responder.address(remoteOffset), length, responder.region.lkey());
            }
            responder.qp.postRecv(recv);
            if (responder.health == Health.ERR) {
                responder.recvsDue.add(new long[] {recvId, WcStatus.WR_FLUSH_ERR.ordinal(), 0});
            } else {
                responder.outstandingRecvs.add(recvId);
            }
        }
        requester.qp.postSend(wr);

        switch (requester.health) {
            case ERR -> requester.sendsDue.add(new long[] {wrId, WcStatus.WR_FLUSH_ERR.ordinal(), 0});
            case BROKEN -> {
                // Local checks come first; only a request that passes them finds the peer gone.
                WcStatus got = status == WcStatus.LOC_PROT_ERR ? status : WcStatus.RETRY_EXC_ERR;
                requester.sendsDue.add(new long[] {wrId, got.ordinal(), 0});
                requester.fail();
            }
            case ALIVE -> {
                if (status != WcStatus.SUCCESS) {
                    requester.sendsDue.add(new long[] {wrId, status.ordinal(), 0});
                    requester.fail();
                    responder.health = Health.BROKEN;
                    return;
                }
                if (wr.sendFlags() != 0) {
                    requester.sendsDue.add(new long[] {wrId, WcStatus.SUCCESS.ordinal(), length});
                }
                if (opcode.consumesRecv()) {
                    responder.recvsDue.add(new long[] {responder.outstandingRecvs.poll(), WcStatus.SUCCESS.ordinal(),
                        length});
                }
                if (reads) {
                    System.arraycopy(responder.model, remoteOffset, requester.model, localOffset, length);
                } else {
                    System.arraycopy(requester.model, srcOffset, responder.model, remoteOffset, length);
                }
            }
        }
    }

    /** Splits {@code [offset, offset + length)} into up to four gather entries. */
    private static void gather(SendWorkRequest wr, Side side, int offset, int length, Random random) {
        int pieces = length == 0 ? 0 : 1 + random.nextInt(Math.min(4, length));
        int at = offset;
        int left = length;
        for (int i = 0; i < pieces; i++) {
            int n = i == pieces - 1 ? left : random.nextInt(left - (pieces - 1 - i)) + 1;
            wr.sgl().add(side.address(at), n, side.region.lkey());
            at += n;
            left -= n;
        }
    }
}
