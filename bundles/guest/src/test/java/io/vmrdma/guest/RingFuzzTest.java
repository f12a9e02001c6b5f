package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Random;

import io.vmrdma.api.guest.GuestAbi;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.xen.sim.guest.SimGuest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ring entries from a hostile guest, random and mutated, through the backend's real decoder: {@value #DEFAULT_INPUTS}
 * in the default run, 10^6 with {@code -Dvmrdma.long=true} ({@code ./test.sh --long}). Each answer is 0 or minus an
 * errno, the engine never throws on one (a thrown request would be refused and counted as unexpected), and two other
 * guests' RDMA WRITE across the same engine still arrives byte-identical at the end.
 */
class RingFuzzTest {

    static final int DEFAULT_INPUTS = 20_000;
    static final int INPUTS = Boolean.getBoolean("vmrdma.long") ? 1_000_000 : DEFAULT_INPUTS;

    @TempDir
    Path state;

    @Test
    void randomAndMutatedRequestsAreAnsweredAndNeverThrow() throws Exception {
        long seed = new Random().nextLong();
        try (EngineFixture host = new EngineFixture(state)) {
            TwoGuestsTest.Side a = new TwoGuestsTest.Side(host.guest("alpha"), GuestDevice.Options.defaults());
            TwoGuestsTest.Side b = new TwoGuestsTest.Side(host.guest("beta"), GuestDevice.Options.defaults());
            TwoGuestsTest.connect(a, b, 5);
            SimGuest mallory = host.guest("mallory");
            GuestDevice evil = GuestDevice.open(mallory, 0, GuestDevice.Options.defaults());
            TwoGuestsTest.Side own = new TwoGuestsTest.Side(evil, null);
            Random random = new Random(seed);
            byte[] entry = new byte[GuestAbi.ENTRY_LENGTH];
            ByteBuffer r = ByteBuffer.wrap(entry).order(ByteOrder.LITTLE_ENDIAN);
            int[] handles = {own.pd.handle(), own.cq.handle(), own.qp.qpn(), own.mr.lkey(), own.mr.rkey(), 0, -1, 1};
            for (int i = 0; i < INPUTS; i++) {
                random.nextBytes(entry);
                if (random.nextInt(4) > 0) {
                    mutate(r, random, handles, own);
                }
                int status = evil.rawRequest(entry);
                assertThat(status).as("seed %d input %d: an answer, 0 or -errno", seed, i)
                        .isBetween(-4095, Integer.MAX_VALUE);
                if (status == 0 && op(r) == GuestAbi.OP_CREATE_QP) {
                    // Queue pairs it made stay its own; destroy them so the domain does not sit at its quotas.
                    byte[] destroy = new byte[GuestAbi.ENTRY_LENGTH];
                    ByteBuffer.wrap(destroy).order(ByteOrder.LITTLE_ENDIAN).put(GuestAbi.REQ_OP,
                            (byte) GuestAbi.OP_DESTROY_QP).putInt(GuestAbi.REQ_ARG0, evil.rawResults()[0]);
                    evil.rawRequest(destroy);
                }
            }
            assertThat(host.backends.connected(mallory.selfDomid()))
                    .as("requests in the ring's format never disable it")
                    .isTrue();
            assertThat(host.backends.unexpected(mallory.selfDomid())).as("seed %d: requests the engine threw on", seed)
                    .isZero();
            assertThat(host.backends.internalErrors()).isZero();
            host.assertHealthy();

            byte[] pattern = new byte[TwoGuestsTest.BYTES];
            new Random(seed).nextBytes(pattern);
            a.buf.buffer().put(0, pattern);
            SendWorkRequest w = new SendWorkRequest().wrId(1).opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                    .remoteAddress(b.mr.address()).rkey(b.mr.rkey());
            w.sgl().add(a.mr.address(), TwoGuestsTest.BYTES, a.mr.lkey());
            a.dev.postSend(a.qp, w);
            assertThat(a.completion().status()).isEqualTo(WcStatus.SUCCESS);
            byte[] arrived = new byte[TwoGuestsTest.BYTES];
            b.buf.buffer().get(0, arrived);
            assertThat(arrived).isEqualTo(pattern);
        }
    }

    /** A plausible request: a real opcode, its own handles where handles go, edge values in sizes and addresses. */
    private static void mutate(ByteBuffer r, Random random, int[] handles, TwoGuestsTest.Side own) {
        r.put(GuestAbi.REQ_OP, (byte) (1 + random.nextInt(GuestAbi.OP_MAX + 1)));
        for (int at = GuestAbi.REQ_ARG0; at <= GuestAbi.REQ_ARG5; at += 4) {
            if (random.nextBoolean()) {
                r.putInt(at, handles[random.nextInt(handles.length)]);
            } else if (random.nextInt(3) == 0) {
                r.putInt(at, edge(random));
            }
        }
        if (random.nextBoolean()) {
            r.putInt(GuestAbi.POST_QPN, own.qp.qpn());
            r.put(GuestAbi.POST_NUM_SGE, (byte) random.nextInt(GuestAbi.MAX_SGE + 2));
            r.putLong(GuestAbi.POST_REMOTE_ADDRESS, random.nextBoolean() ? own.mr.address() + edge(random)
                    : (long) edge(random) << 32 | edge(random));
            r.putInt(GuestAbi.POST_RKEY, random.nextBoolean() ? own.mr.rkey() : random.nextInt());
            for (int i = 0; i < GuestAbi.MAX_SGE && random.nextBoolean(); i++) {
                int e = GuestAbi.POST_SGE + i * GuestAbi.SGE_LENGTH;
                r.putLong(e, own.mr.address() + edge(random)).putInt(e + 8, edge(random)).putInt(e + 12, own.mr.lkey());
            }
        }
        if (op(r) == GuestAbi.OP_REG_MR && random.nextBoolean()) {
            r.putInt(GuestAbi.MR_PD, own.pd.handle()).putLong(GuestAbi.MR_ADDRESS, (long) edge(random) << 32)
                    .putInt(GuestAbi.MR_PAGE_OFFSET, random.nextInt(4097)).putLong(GuestAbi.MR_LENGTH, edge(random))
                    .putInt(GuestAbi.MR_PAGES, random.nextInt(20));
        }
    }

    private static int op(ByteBuffer r) {
        return r.get(GuestAbi.REQ_OP) & 0xFF;
    }

    private static int edge(Random random) {
        int[] edges = {0, 1, -1, 4095, 4096, 4097, 65536, Integer.MAX_VALUE, Integer.MIN_VALUE, 1 << 24, 16384, 16385};
        return random.nextInt(4) == 0 ? random.nextInt() : edges[random.nextInt(edges.length)];
    }
}
