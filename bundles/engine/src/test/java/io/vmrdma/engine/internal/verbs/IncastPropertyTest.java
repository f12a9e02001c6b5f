package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.engine.internal.congestion.CongestionControl;
import io.vmrdma.engine.internal.congestion.CongestionSettings;
import io.vmrdma.engine.testkit.Cluster;
import io.vmrdma.nic.faults.BottleneckNicPort;
import io.vmrdma.nic.faults.Faults;
import io.vmrdma.sched.testkit.ShareMeter;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/**
 * Incast on a simulated bottleneck: several nodes write 1 MiB RDMA WRITEs to one node whose switch port is a queue
 * of bounded depth draining at 10 Gb/s ({@link BottleneckNicPort}), all on the cluster's hand-advanced clock. With
 * congestion control the senders share the port: together they keep it busy, each gets about as much, and what
 * they wrote arrives byte for byte; with a queue far too shallow for the window floor of every sender, frames are
 * lost all the time and still every write completes (the floor keeps every flow sending, nothing deadlocks).
 */
class IncastPropertyTest {

    private static final int MTU = 9000;
    private static final int BLOCK = 1 << 20;
    /** Writes each sender keeps posted, so it always has data waiting for the window. */
    private static final int QUEUED = 4;
    /** 10 Gb/s. */
    private static final long RATE = 1_250_000_000L;
    /** A switch port's buffer: 1 MiB, some 800 µs at the rate. */
    private static final int DEPTH = 1 << 20;
    private static final long WARM_UP_NANOS = 20_000_000;
    private static final long MEASURED_NANOS = 40_000_000;

    @Property(tries = 6)
    void sendersShareTheBottleneckFullyAndFairly(@ForAll @IntRange(min = 1, max = 6) int senders,
                                                 @ForAll @LongRange(min = 1, max = 1_000_000) long seed)
            throws Exception {
        try (Cluster c = new Cluster(senders + 1, MTU, Faults.NONE, seed)) {
            Incast incast = new Incast(c, senders, seed, CongestionSettings.DEFAULTS, DEPTH);
            long[] measured = incast.run(WARM_UP_NANOS, MEASURED_NANOS);
            long total = 0;
            for (long bytes : measured) {
                total += bytes;
            }
            double rateShare = total * 1e9 / MEASURED_NANOS / RATE;
            // Payload is 8,960 of every 9,000 bytes at the bottleneck, and the windows breathe around the target;
            // writes are counted when they complete, so each sender may finish one that was mostly sent before.
            double oneWriteEach = (double) senders * BLOCK * 1e9 / MEASURED_NANOS / RATE;
            assertThat(rateShare).as("goodput over the rate, senders %d; %s", senders, incast.state())
                    .isBetween(0.85, 1.0 + oneWriteEach);
            assertThat(ShareMeter.jain(measured))
                    .as("Jain's index of %s; %s", java.util.Arrays.toString(measured), incast.state())
                    .isGreaterThan(0.9);
            incast.finishAndCheckBytes();
            for (int n = 2; n <= senders + 1; n++) {
                CongestionControl cc = c.node(n).transport().peers().get(1).congestion();
                assertThat(cc.windowBytes()).isBetween(CongestionSettings.DEFAULTS.minWindow(),
                        CongestionSettings.DEFAULTS.maxWindow());
                assertThat(cc.rttNanos()).as("measured from acknowledgements").isPositive();
            }
        }
    }

    @Property(tries = 4)
    void aQueueBelowTheFloorsLosesFramesButNothingStalls(@ForAll @IntRange(min = 2, max = 4) int senders,
                                                         @ForAll @LongRange(min = 1, max = 1_000_000) long seed)
            throws Exception {
        try (Cluster c = new Cluster(senders + 1, MTU, Faults.NONE, seed)) {
            // Sixteen frames of queue for senders whose floors together are up to twice that.
            Incast incast = new Incast(c, senders, seed, CongestionSettings.DEFAULTS, 16 * MTU);
            long[] measured = incast.run(WARM_UP_NANOS, 5 * MEASURED_NANOS);
            assertThat(incast.bottleneck.dropped()).as("the queue overflows").isPositive();
            for (long bytes : measured) {
                assertThat(bytes).as("every sender moved data: %s; %s", java.util.Arrays.toString(measured),
                        incast.state())
                        .isPositive();
            }
            incast.finishAndCheckBytes();
        }
    }

    @Test
    void congestionControlKeepsTheQueueFromOverflowingWhereFixedWindowsDoNot() throws Exception {
        long[] drops = new long[2];
        long[] goodput = new long[2];
        CongestionSettings[] settings = {CongestionSettings.DEFAULTS, CongestionSettings.FIXED};
        for (int i = 0; i < 2; i++) {
            try (Cluster c = new Cluster(5, MTU, Faults.NONE, 7)) {
                Incast incast = new Incast(c, 4, 7, settings[i], DEPTH);
                goodput[i] = java.util.Arrays.stream(incast.run(WARM_UP_NANOS, MEASURED_NANOS)).sum();
                drops[i] = incast.bottleneck.dropped();
                incast.finishAndCheckBytes();
            }
        }
        assertThat(drops[1]).as("fixed 4 MiB windows, four senders, 1 MiB of queue").isGreaterThan(1000);
        assertThat(drops[0]).as("with congestion control").isLessThan(drops[1] / 10);
        assertThat(goodput[0]).as("so it moves more").isGreaterThan(2 * goodput[1]);
    }

    /** Nodes 2..n+1 each writing into its own region on node 1, behind the bottleneck. */
    private static final class Incast {
        final Cluster c;
        final BottleneckNicPort bottleneck;
        final List<Sender> senders = new ArrayList<>();

        Incast(Cluster c, int count, long seed, CongestionSettings settings, int depth) throws VerbsException {
            this.c = c;
            c.authenticationOff();
            for (var engine : c.engines()) {
                engine.congestion(settings);
            }
            bottleneck = c.bottleneck(1, RATE, depth);
            Cluster.Dom sink = c.domain(1, 1, "sink");
            for (int n = 2; n <= count + 1; n++) {
                senders.add(new Sender(c, sink, n, seed * 31 + n));
            }
        }

        /** Runs {@code warmUp}, then counts each sender's completed bytes for {@code measured}. */
        long[] run(long warmUp, long measured) throws VerbsException {
            for (Sender s : senders) {
                s.fill();
            }
            runFor(warmUp, true);
            long[] start = senders.stream().mapToLong(s -> s.done).toArray();
            runFor(measured, true);
            long[] bytes = new long[senders.size()];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = senders.get(i).done - start[i];
            }
            return bytes;
        }

        private void runFor(long nanos, boolean repost) throws VerbsException {
            long until = c.now() + nanos;
            while (c.now() - until < 0) {
                int work = 0;
                for (var engine : c.engines()) {
                    work += engine.doWork();
                }
                for (Sender s : senders) {
                    s.reap(repost);
                }
                // Finer steps than the cluster's own while idle: queueing delay is what the senders measure.
                c.advance(work == 0 ? 10_000 : 1_000);
            }
        }

        /** What the queue and each sender's congestion control say, for a failure's message. */
        String state() {
            StringBuilder text = new StringBuilder("queue: forwarded " + bottleneck.forwarded() + ", dropped "
                    + bottleneck.dropped() + ", waiting " + bottleneck.queuedBytes() + " B");
            for (Sender s : senders) {
                CongestionControl cc = c.node(s.node).transport().peers().get(1).congestion();
                text.append(String.format("; node %d: window %d, rtt %d, target %d, losses %d, done %d", s.node,
                        cc.windowBytes(), cc.rttNanos(), cc.rttTargetNanos(), cc.losses(), s.done));
            }
            return text.toString();
        }

        /** Lets every write posted complete, then compares each target with its source. */
        void finishAndCheckBytes() throws VerbsException {
            long until = c.now() + 10_000_000_000L;
            while (!senders.stream().allMatch(s -> s.posted == 0)) {
                runFor(1_000_000, false);
                assertThat(c.now()).as("every write completes").isLessThan(until);
            }
            for (Sender s : senders) {
                byte[] arrived = new byte[BLOCK];
                s.target.get(0, arrived);
                assertThat(arrived).as("bytes of node %d", s.node).isEqualTo(s.pattern);
            }
        }
    }

    private static final class Sender {
        final int node;
        final byte[] pattern = new byte[BLOCK];
        final ByteBuffer target = ByteBuffer.allocateDirect(BLOCK);
        final Cluster.Dom dom;
        final QueuePair qp;
        final SendWorkRequest write;
        final WorkCompletion wc = new WorkCompletion();
        int posted;
        long done;

        Sender(Cluster c, Cluster.Dom sink, int node, long seed) throws VerbsException {
            this.node = node;
            dom = c.domain(node, node, "src" + node);
            new Random(seed).nextBytes(pattern);
            ByteBuffer source = ByteBuffer.allocateDirect(BLOCK);
            source.put(0, pattern);
            MemoryRegion from = dom.verbs.regMr(dom.pd, source, 0x1000_0000L, AccessFlags.LOCAL_WRITE);
            MemoryRegion to = sink.verbs.regMr(sink.pd, target, 0x2000_0000L + (long) node * 0x100_0000L,
                    AccessFlags.ALL);
            qp = c.connect(dom, sink, 500 + node)[0];
            write = new SendWorkRequest().wrId(node).opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                    .remoteAddress(to.address()).rkey(to.rkey());
            write.sgl().add(from.address(), BLOCK, from.lkey());
        }

        void fill() throws VerbsException {
            while (posted < QUEUED) {
                qp.postSend(write);
                posted++;
            }
        }

        void reap(boolean repost) throws VerbsException {
            while (dom.cq.poll(wc)) {
                assertThat(wc.status()).as("node %d's write", node).isEqualTo(WcStatus.SUCCESS);
                posted--;
                done += BLOCK;
            }
            if (repost) {
                fill();
            }
        }
    }
}
