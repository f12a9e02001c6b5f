package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.function.Function;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.NicPort;
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
import io.vmrdma.nic.faults.ForwardingNicPort;
import org.junit.jupiter.api.Test;

/**
 * What counts against a peer's congestion window besides new data: resends of packets presumed lost, and the READ
 * responses a requester asked the peer for; and when a round trip starts and ends: when the packet went on the wire and when the acknowledgement reached the
 * host, not when the engine's thread got to either.
 */
class CongestionAccountingTest {

    private static final int MTU = 9000;
    private static final int BYTES = 4 << 20;
    /** A window that starts and stays at 1 MiB until a signal moves it (delay-based, target far above any sample). */
    private static final CongestionSettings ONE_MIB = new CongestionSettings(CongestionSettings.DELAY, 1 << 20,
            64 << 10, 1 << 20, 1_000_000_000L, 64 << 10, 80);

    /** Node 2's port while it hears nothing: every frame that reaches it is lost. */
    private static final class Deaf extends ForwardingNicPort {
        boolean deaf = true;

        Deaf(NicPort inner) {
            super(inner);
        }

        @Override
        public int poll(FrameHandler handler, int frameLimit) {
            return inner.poll(deaf ? (buffer, offset, length, source) -> {
            } : handler, frameLimit);
        }
    }

    /** Says every frame it hands up waited {@code waitNanos} at the host before the poll. */
    private static final class Waited extends ForwardingNicPort {
        final long waitNanos;

        Waited(NicPort inner, long waitNanos) {
            super(inner);
            this.waitNanos = waitNanos;
        }

        @Override
        public long frameWaitNanos() {
            return waitNanos;
        }
    }

    @Test
    void afterATimeoutResendsWaitForTheHalvedWindowAndTheWriteStillArrives() throws Exception {
        try (Cluster c = new Cluster(2, MTU, Faults.NONE, 61).authenticationOff()) {
            c.node(1).congestion(ONE_MIB);
            Deaf deaf = new Deaf(c.nics().get(1));
            c.node(2).nic(deaf);
            Cluster.Dom a = c.domain(1, 1, "a");
            Cluster.Dom b = c.domain(2, 2, "b");
            deaf.deaf = false;
            QueuePair qp = c.connect(a, b, 300)[0];
            deaf.deaf = true;
            MemoryRegion from = a.region(BYTES, AccessFlags.LOCAL_WRITE, 1);
            ByteBuffer target = ByteBuffer.allocateDirect(BYTES);
            MemoryRegion to = b.verbs.regMr(b.pd, target, 0x2000_0000L, AccessFlags.ALL);
            SendWorkRequest write = new SendWorkRequest().wrId(1).opcode(Opcode.RDMA_WRITE)
                    .sendFlags(SendFlags.SIGNALED).remoteAddress(to.address()).rkey(to.rkey());
            write.sgl().add(from.address(), BYTES, from.lkey());
            qp.postSend(write);
            Peer peer = c.node(1).transport().peers().get(2);
            for (int round = 0; round < 200; round++) {
                c.node(1).doWork();
                c.advance(1_000);
            }
            assertThat(peer.windowBytes()).as("the first window went out, and was lost")
                    .isBetween((1L << 20) - MTU, 1L << 20);

            long resentBefore = resent(c);
            c.advance(20_000_000);
            for (int round = 0; round < 200; round++) {
                c.node(1).doWork();
                c.advance(1_000);
            }
            long resent = resent(c) - resentBefore;
            long window = peer.congestion().windowBytes();
            assertThat(window).as("the timeout halved the window").isEqualTo(512L << 10);
            assertThat(resent * (MTU - 100)).as("resends before any acknowledgement fit the halved window")
                    .isLessThanOrEqualTo(window + MTU).isGreaterThan(window / 2);
            assertThat(peer.windowBytes()).as("what was resent counts, what waits does not")
                    .isBetween(window - MTU, window + MTU);

            deaf.deaf = false;
            c.runUntil(() -> a.drainCq().size() == 1, 10_000_000_000L);
            assertThat(a.polled).extracting(WorkCompletion::status).containsExactly(WcStatus.SUCCESS);
            assertThat(peer.windowBytes()).as("all acknowledged").isZero();
            assertArrived(1, target);
        }
    }

    @Test
    void readResponsesCountAgainstTheWindowToTheResponderAndFeedItsRoundTrip() throws Exception {
        try (Cluster c = new Cluster(2, MTU, Faults.NONE, 62).authenticationOff()) {
            long window = 256 << 10;
            c.node(1).congestion(new CongestionSettings(CongestionSettings.OFF, window, 64 << 10, window, 300_000,
                    64 << 10, 80));
            Cluster.Dom a = c.domain(1, 1, "a");
            Cluster.Dom b = c.domain(2, 2, "b");
            QueuePair qp = c.connect(a, b, 301)[0];
            MemoryRegion source = b.region(BYTES, AccessFlags.ALL, 2);
            ByteBuffer landing = ByteBuffer.allocateDirect(BYTES);
            MemoryRegion into = a.verbs.regMr(a.pd, landing, 0x3000_0000L, AccessFlags.LOCAL_WRITE);
            SendWorkRequest read = new SendWorkRequest().wrId(2).opcode(Opcode.RDMA_READ).sendFlags(SendFlags.SIGNALED)
                    .remoteAddress(source.address()).rkey(source.rkey());
            read.sgl().add(into.address(), BYTES, into.lkey());
            qp.postSend(read);
            Peer peer = c.node(1).transport().peers().get(2);
            assertThat(peer.congestion().rttNanos()).as("nothing measured before the READ").isEqualTo(-1);
            long most = 0;
            while (a.drainCq().isEmpty()) {
                // Node 2 answers every 16th round only, so node 1 asks for as much as its window lets it.
                for (int round = 0; round < 16; round++) {
                    c.node(1).doWork();
                    c.advance(1_000);
                    most = Math.max(most, peer.windowBytes());
                }
                c.node(2).doWork();
            }
            assertThat(a.polled).extracting(WorkCompletion::status).containsExactly(WcStatus.SUCCESS);
            assertThat(most).as("responses asked for and not yet arrived fill the window, and stay within it")
                    .isGreaterThan(window / 2).isLessThanOrEqualTo(window);
            assertThat(peer.windowBytes()).as("every response arrived: nothing counted").isZero();
            assertThat(peer.congestion().rttNanos()).as("the responses' round trips reached congestion control")
                    .isPositive();
            assertArrived(2, landing);
        }
    }

    /** Takes {@code nanos} of the cluster's time per frame committed: a slow copy, or a thread that lost its core. */
    private static final class SlowCommits extends ForwardingNicPort {
        final Cluster cluster;
        final long nanos;

        SlowCommits(NicPort inner, Cluster cluster, long nanos) {
            super(inner);
            this.cluster = cluster;
            this.nanos = nanos;
        }

        @Override
        public void commit(FrameClaim claim, int length) {
            cluster.advance(nanos);
            super.commit(claim, length);
        }
    }

    @Test
    void aRoundTripStartsWhenThePacketGoesOnTheWireNotWhenTheTurnBegan() throws Exception {
        long plain = smoothedRoundTrip(c -> c.nics().get(0));
        long slow = smoothedRoundTrip(c -> new SlowCommits(c.nics().get(0), c, 5_000));
        // A turn emits tens of frames, so stamped when the turn began they would add hundreds of microseconds; only
        // a frame committed after the flush's stamp (a hello) adds its 5 µs, now and then.
        assertThat(slow).as("a turn of many frames took 5 µs each before the flush; the round trips leave it out")
                .isGreaterThanOrEqualTo(plain).isLessThan(plain + 5_000);
    }

    @Test
    void aRoundTripEndsWhenTheAcknowledgementReachedTheHostNotWhenItWasPolled() throws Exception {
        long waited = 400;
        long plain = smoothedRoundTrip(c -> c.nics().get(0));
        long leftOut = smoothedRoundTrip(c -> new Waited(c.nics().get(0), waited));
        assertThat(plain).as("the cluster's clock moves 1 µs per busy round: an ACK comes a round later")
                .isGreaterThanOrEqualTo(2 * waited);
        assertThat(leftOut).isCloseTo(plain - waited, within(8L));
    }

    /** Node 1 writes 4 MiB to node 2 with a fixed window through the port {@code portOf} gives it. */
    private static long smoothedRoundTrip(Function<Cluster, NicPort> portOf) throws Exception {
        try (Cluster c = new Cluster(2, MTU, Faults.NONE, 63).authenticationOff()) {
            c.node(1).congestion(CongestionSettings.FIXED);
            Cluster.Dom a = c.domain(1, 1, "a");
            Cluster.Dom b = c.domain(2, 2, "b");
            QueuePair qp = c.connect(a, b, 302)[0];
            c.node(1).nic(portOf.apply(c));
            MemoryRegion from = a.region(BYTES, AccessFlags.LOCAL_WRITE, 3);
            MemoryRegion to = b.region(BYTES, AccessFlags.ALL, 4);
            SendWorkRequest write = new SendWorkRequest().wrId(3).opcode(Opcode.RDMA_WRITE)
                    .sendFlags(SendFlags.SIGNALED).remoteAddress(to.address()).rkey(to.rkey());
            write.sgl().add(from.address(), BYTES, from.lkey());
            qp.postSend(write);
            c.runUntil(() -> a.drainCq().size() == 1, 10_000_000_000L);
            assertThat(a.polled).extracting(WorkCompletion::status).containsExactly(WcStatus.SUCCESS);
            return c.node(1).transport().peers().get(2).congestion().rttNanos();
        }
    }

    /** Data frames node 1 sent node 2 again. */
    private static long resent(Cluster c) {
        return c.node(1).peers().stream().filter(p -> p.node() == 2).findFirst().orElseThrow().retransmissions();
    }

    /** What {@link Cluster.Dom#region} filled a region of {@code seed} with. */
    private static void assertArrived(long seed, ByteBuffer target) {
        byte[] expected = new byte[target.capacity()];
        Random r = new Random(seed);
        for (int i = 0; i < expected.length; i++) {
            expected[i] = (byte) r.nextInt();
        }
        byte[] arrived = new byte[target.capacity()];
        target.get(0, arrived);
        assertThat(arrived).isEqualTo(expected);
    }
}
