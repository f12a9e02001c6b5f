package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Random;

import io.vmrdma.api.Counter;
import io.vmrdma.api.nic.NicPort;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.engine.internal.congestion.CongestionControl;
import io.vmrdma.engine.testkit.Cluster;
import io.vmrdma.nic.faults.Faults;
import io.vmrdma.nic.faults.ForwardingNicPort;
import org.junit.jupiter.api.Test;

/**
 * A receiver under pressure tells its sender: while its binding's receive drops rise (or its receive queue stays
 * full) its ACKs carry flag PRESSURE, counted, and the sender's window shrinks though no delay shows on the wire; once
 * the drops stop for the hold time the flag goes and the window grows back. The data arrives byte for byte all along.
 */
class ReceiverPressureTest {

    private static final int MTU = 9000;
    private static final int BYTES = 1 << 20;

    /** A port whose binding reports receive drops as the test says. */
    private static final class DroppingPort extends ForwardingNicPort {
        long drops;

        DroppingPort(NicPort inner) {
            super(inner);
        }

        @Override
        public long receiveDrops() {
            return drops;
        }
    }

    @Test
    void dropsAtTheReceiverShrinkTheSendersWindowUntilTheyStop() throws Exception {
        try (Cluster c = new Cluster(2, MTU, Faults.NONE, 5)) {
            DroppingPort receiver = new DroppingPort(c.nics().get(1));
            c.node(2).nic(receiver);
            Writer w = new Writer(c);
            CongestionControl cc = c.node(1).transport().peers().get(2).congestion();

            w.writeAll(8);
            long calm = cc.windowBytes();
            assertThat(c.node(2).counter(Counter.PRESSURE_ACKS_SENT)).as("no pressure yet").isZero();

            long before = c.node(2).counter(Counter.PRESSURE_ACKS_SENT);
            receiver.drops += 3;
            w.writeAll(4);
            assertThat(c.node(2).counter(Counter.PRESSURE_ACKS_SENT)).as("ACKs with PRESSURE").isGreaterThan(before);
            long pressed = cc.windowBytes();
            assertThat(pressed).as("window under pressure").isLessThan(calm);

            c.advance(20_000_000);
            long after = c.node(2).counter(Counter.PRESSURE_ACKS_SENT);
            w.writeAll(8);
            assertThat(c.node(2).counter(Counter.PRESSURE_ACKS_SENT)).as("the hold time passed").isEqualTo(after);
            assertThat(cc.windowBytes()).as("window grows back").isGreaterThan(pressed);
        }
    }

    /** A queue pair writing seeded 1 MiB blocks from node 1 to node 2. */
    private static final class Writer {
        final Cluster c;
        final Cluster.Dom a;
        final QueuePair qp;
        final SendWorkRequest write;
        final byte[] pattern = new byte[BYTES];
        final ByteBuffer target = ByteBuffer.allocateDirect(BYTES);
        int seed;

        Writer(Cluster c) throws VerbsException {
            this.c = c;
            a = c.domain(1, 1, "a");
            Cluster.Dom b = c.domain(2, 2, "b");
            ByteBuffer source = ByteBuffer.allocateDirect(BYTES);
            new Random(5).nextBytes(pattern);
            source.put(0, pattern);
            MemoryRegion from = a.verbs.regMr(a.pd, source, 0x1000_0000L, AccessFlags.LOCAL_WRITE);
            MemoryRegion to = b.verbs.regMr(b.pd, target, 0x2000_0000L, AccessFlags.ALL);
            qp = c.connect(a, b, 77)[0];
            write = new SendWorkRequest().opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                    .remoteAddress(to.address()).rkey(to.rkey());
            write.sgl().add(from.address(), BYTES, from.lkey());
        }

        /** Writes {@code count} blocks one after another, each completing with its bytes in place. */
        void writeAll(int count) throws VerbsException {
            for (int i = 0; i < count; i++) {
                int done = a.drainCq().size();
                qp.postSend(write.wrId(seed++));
                c.runUntil(() -> a.drainCq().size() > done, 10_000_000_000L);
                assertThat(a.polled.get(done).status()).isEqualTo(WcStatus.SUCCESS);
                byte[] arrived = new byte[BYTES];
                target.get(0, arrived);
                assertThat(arrived).isEqualTo(pattern);
                target.put(0, new byte[BYTES]);
            }
        }
    }
}
