package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;

import io.vmrdma.api.Counter;
import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.NicPort;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.engine.internal.transport.WireResponder;
import io.vmrdma.engine.testkit.Cluster;
import io.vmrdma.nic.faults.Faults;
import io.vmrdma.nic.faults.ForwardingNicPort;
import org.junit.jupiter.api.Test;

/**
 * When the responder acknowledges (docs/wire-protocol.md, section 5): a few packets wait one duty cycle for their ACK,
 * so an answer posted meanwhile leaves ahead of it; {@link WireResponder#ACK_EVERY} packets are acknowledged in the
 * cycle that received them; and a duplicate or a gap, signs that the requester is recovering, is acknowledged at once.
 */
class AckTimingTest {

    private static final int MTU = 1500;
    /** Frames longer than this carry data; ACKs and HELLOs are shorter. */
    private static final int DATA = 100;

    /** Sends the first data frame twice. */
    private static final class Doubling extends ForwardingNicPort {
        private final FrameClaim copy = new FrameClaim();
        private LinkAddress destination;
        private boolean done;

        Doubling(NicPort inner) {
            super(inner);
        }

        @Override
        public boolean tryClaim(LinkAddress to, int length, FrameClaim claim) {
            destination = to;
            return inner.tryClaim(to, length, claim);
        }

        @Override
        public void commit(FrameClaim claim, int length) {
            byte[] frame = new byte[length];
            claim.buffer().get(claim.offset(), frame);
            inner.commit(claim, length);
            if (!done && length > DATA && inner.tryClaim(destination, length, copy)) {
                done = true;
                copy.buffer().put(copy.offset(), frame);
                inner.commit(copy, length);
            }
        }
    }

    /** Loses the first data frame. */
    private static final class LosingFirst extends ForwardingNicPort {
        private boolean done;

        LosingFirst(NicPort inner) {
            super(inner);
        }

        @Override
        public void commit(FrameClaim claim, int length) {
            if (!done && length > DATA) {
                done = true;
                inner.abort(claim);
                return;
            }
            inner.commit(claim, length);
        }
    }

    @Test
    void aSmallWriteIsAcknowledgedOneCycleLaterAndAnAnswerPostedMeanwhileGoesFirst() throws Exception {
        try (Cluster c = new Cluster(2, MTU, Faults.NONE, 5)) {
            Cluster.Dom a = c.domain(1, 1, "a");
            Cluster.Dom b = c.domain(2, 2, "b");
            QueuePair[] qps = c.connect(a, b, 9);
            ByteBuffer memoryA = ByteBuffer.allocateDirect(64);
            ByteBuffer memoryB = ByteBuffer.allocateDirect(64);
            memoryA.put(0, (byte) 17);
            MemoryRegion fromA = a.verbs.regMr(a.pd, memoryA, 0x1000_0000L, AccessFlags.ALL);
            MemoryRegion fromB = b.verbs.regMr(b.pd, memoryB, 0x2000_0000L, AccessFlags.ALL);
            c.settle(50);
            long acksBefore = b.engine.counter(Counter.ACKS_SENT);
            long framesBefore = b.engine.counter(Counter.FRAMES_SENT);

            qps[0].postSend(write(1, fromA, fromB, SendFlags.SIGNALED));
            a.engine.doWork();
            b.engine.doWork();
            assertThat(memoryB.get(0)).as("placed").isEqualTo((byte) 17);
            assertThat(b.engine.counter(Counter.ACKS_SENT)).as("ACK waits a cycle").isEqualTo(acksBefore);
            assertThat(b.engine.counter(Counter.FRAMES_SENT)).isEqualTo(framesBefore);

            // The answer, posted between the cycles, goes in the next cycle, and the ACK in the same batch.
            qps[1].postSend(write(2, fromB, fromA, 0));
            b.engine.doWork();
            assertThat(b.engine.counter(Counter.ACKS_SENT)).isEqualTo(acksBefore + 1);
            assertThat(b.engine.counter(Counter.FRAMES_SENT)).as("answer and ACK").isEqualTo(framesBefore + 2);

            c.runUntil(() -> !a.drainCq().isEmpty(), 1_000_000_000L);
            assertThat(a.polled.get(0).status()).isEqualTo(WcStatus.SUCCESS);
        }
    }

    @Test
    void sixteenPacketsAreAcknowledgedInTheCycleThatReceivedThem() throws Exception {
        try (Cluster c = new Cluster(2, MTU, Faults.NONE, 6)) {
            Cluster.Dom a = c.domain(1, 1, "a");
            Cluster.Dom b = c.domain(2, 2, "b");
            QueuePair[] qps = c.connect(a, b, 9);
            int bytes = 64 << 10;
            MemoryRegion fromA = a.region(bytes, AccessFlags.ALL, 3);
            MemoryRegion toB = b.region(bytes, AccessFlags.ALL, 4);
            c.settle(50);
            long framesBefore = b.engine.counter(Counter.FRAMES_RECEIVED);
            long acksBefore = b.engine.counter(Counter.ACKS_SENT);

            qps[0].postSend(write(1, fromA, toB, SendFlags.SIGNALED));
            a.engine.doWork();
            b.engine.doWork();
            assertThat(b.engine.counter(Counter.FRAMES_RECEIVED) - framesBefore)
                    .as("one cycle received the requester's first batch")
                    .isGreaterThanOrEqualTo(WireResponder.ACK_EVERY);
            assertThat(b.engine.counter(Counter.ACKS_SENT)).as("ACK in the same cycle").isEqualTo(acksBefore + 1);
        }
    }

    @Test
    void aDuplicateIsAcknowledgedInTheCycleThatReceivedIt() throws Exception {
        assertAcknowledgedAtOnce(Doubling::new, Counter.DUPLICATES_DROPPED);
    }

    @Test
    void aGapIsAcknowledgedInTheCycleThatShowedIt() throws Exception {
        assertAcknowledgedAtOnce(LosingFirst::new, null);
    }

    /** A two-packet write through node 1's port wrapped by {@code wrap}: node 2 acknowledges in its first cycle. */
    private static void assertAcknowledgedAtOnce(java.util.function.UnaryOperator<NicPort> wrap, Counter seen)
            throws Exception {
        // With auth = off: with it on, a frame the link doubled is a replay, dropped before its PSN is looked at.
        try (Cluster c = new Cluster(2, MTU, Faults.NONE, 7).authenticationOff()) {
            Cluster.Dom a = c.domain(1, 1, "a");
            Cluster.Dom b = c.domain(2, 2, "b");
            QueuePair[] qps = c.connect(a, b, 9);
            MemoryRegion fromA = a.region(2 * MTU, AccessFlags.ALL, 5);
            MemoryRegion toB = b.region(2 * MTU, AccessFlags.ALL, 6);
            c.settle(50);
            a.engine.nic(wrap.apply(c.nics().get(0)));
            long acksBefore = b.engine.counter(Counter.ACKS_SENT);
            long seenBefore = seen == null ? 0 : b.engine.counter(seen);

            qps[0].postSend(write(1, fromA, toB, SendFlags.SIGNALED));
            a.engine.doWork();
            b.engine.doWork();
            if (seen != null) {
                assertThat(b.engine.counter(seen)).isEqualTo(seenBefore + 1);
            }
            assertThat(b.engine.counter(Counter.ACKS_SENT)).as("ACK in the same cycle").isEqualTo(acksBefore + 1);
            c.runUntil(() -> !a.drainCq().isEmpty(), 1_000_000_000L);
            assertThat(a.polled.get(0).status()).isEqualTo(WcStatus.SUCCESS);
        }
    }

    private static SendWorkRequest write(long wrId, MemoryRegion from, MemoryRegion to, int flags) {
        SendWorkRequest write = new SendWorkRequest().wrId(wrId).opcode(Opcode.RDMA_WRITE).sendFlags(flags)
                .remoteAddress(to.address()).rkey(to.rkey());
        write.sgl().add(from.address(), (int) Math.min(from.length(), to.length()), from.lkey());
        return write;
    }
}
