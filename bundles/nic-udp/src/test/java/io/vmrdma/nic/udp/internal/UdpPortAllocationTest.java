package io.vmrdma.nic.udp.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.ByteBuffer;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Heap bytes this thread allocates per frame, counted by the JVM (HotSpot's per-thread allocation counter), after a
 * warm-up so that class loading and compilation are out of the picture.
 */
class UdpPortAllocationTest {

    private static final int FRAMES = 20_000;
    private static final int BATCH = 32;
    /**
     * The smallest object is 16 bytes, so under one byte per frame means nothing is allocated per frame; what
     * remains is a few hundred bytes over the whole run that the JVM charges to the thread (compilation, the
     * counter's own bookkeeping).
     */
    private static final double NONE_PER_FRAME = 1.0;

    private final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private final FrameClaim claim = new FrameClaim();
    private final Sink sink = new Sink();
    private UdpPort a;
    private UdpPort b;
    private UdpPort c;

    /** Reads a word of each frame, as the engine's validation would, and keeps nothing. */
    private static final class Sink implements FrameHandler {
        long sum;
        int frames;

        @Override
        public void onFrame(ByteBuffer buffer, int offset, int length, LinkAddress source) {
            sum += buffer.getInt(offset) + source.length();
            frames++;
        }
    }

    @BeforeEach
    void open() {
        assumeTrue(threads.isThreadAllocatedMemorySupported(), "this JVM does not count allocations per thread");
        threads.setThreadAllocatedMemoryEnabled(true);
        InetAddress lo = InetAddress.getLoopbackAddress();
        a = new UdpPort(UdpSettings.of(lo, 0).withMtu(1472).withBatchSize(BATCH));
        b = new UdpPort(UdpSettings.of(lo, 0).withMtu(1472).withBatchSize(BATCH));
        c = new UdpPort(UdpSettings.of(lo, 0).withMtu(1472).withBatchSize(BATCH));
    }

    @AfterEach
    void close() {
        if (a != null) {
            a.close();
            b.close();
            c.close();
        }
    }

    /** Batches from {@code senders}, taking turns frame by frame, to {@code b}; returns bytes allocated per frame. */
    private double bytesPerFrame(UdpPort... senders) {
        return bytesPerFrame(senders, new UdpPort[] {b});
    }

    /** Frame {@code i} of each batch goes from {@code senders[i % n]} to {@code receivers[i % m]}. */
    private double bytesPerFrame(UdpPort[] senders, UdpPort[] receivers) {
        LinkAddress[] to = new LinkAddress[receivers.length];
        for (int r = 0; r < receivers.length; r++) {
            to[r] = receivers[r].address();
        }
        for (int round = 0; round < 2; round++) {
            sink.frames = 0;
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int sent = 0; sent < FRAMES; sent += BATCH) {
                for (int i = 0; i < BATCH; i++) {
                    UdpPort from = senders[i % senders.length];
                    // Not AssertJ here: an assertion object per frame would be the allocation measured.
                    if (!from.tryClaim(to[i % to.length], 256, claim)) {
                        throw new AssertionError("claim refused");
                    }
                    claim.buffer().putInt(claim.offset(), i);
                    from.commit(claim, 256);
                }
                for (UdpPort from : senders) {
                    from.flush();
                }
                for (UdpPort receiver : receivers) {
                    while (receiver.poll(sink, BATCH) > 0) {
                        // drain what arrived
                    }
                }
            }
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            if (round == 1) {
                assertThat(sink.frames).isEqualTo(FRAMES);
                return (double) allocated / FRAMES;
            }
        }
        throw new AssertionError("unreachable");
    }

    @Test
    void framesBetweenTwoPortsAllocateNothing() {
        double perFrame = bytesPerFrame(a);
        System.out.printf("nic.udp one sender: %.3f bytes allocated per frame%n", perFrame);
        assertThat(perFrame).isLessThan(NONE_PER_FRAME);
    }

    @Test
    void framesToPeersInTurnAllocateNothing() {
        double perFrame = bytesPerFrame(new UdpPort[] {a}, new UdpPort[] {b, c});
        System.out.printf("nic.udp one sender, two destinations in turn: %.3f bytes allocated per frame%n", perFrame);
        assertThat(perFrame).isLessThan(NONE_PER_FRAME);
    }

    /** Senders are found by their address bytes in a table: a change of sender costs a probe, not an object. */
    @Test
    void framesFromSendersInTurnAllocateNothing() {
        double perFrame = bytesPerFrame(a, c);
        System.out.printf("nic.udp two senders in turn: %.3f bytes allocated per frame%n", perFrame);
        assertThat(perFrame).isLessThan(NONE_PER_FRAME);
    }

    /** The same with both offloads off: plain datagrams, one per frame each way. */
    @Test
    void plainDatagramsAllocateNothing() {
        InetAddress lo = InetAddress.getLoopbackAddress();
        UdpPort plainA = new UdpPort(UdpSettings.of(lo, 0).withMtu(1472).withBatchSize(BATCH).withOffloads(false,
                false));
        UdpPort plainB = new UdpPort(UdpSettings.of(lo, 0).withMtu(1472).withBatchSize(BATCH).withOffloads(false,
                false));
        try {
            double perFrame = bytesPerFrame(new UdpPort[] {plainA}, new UdpPort[] {plainB});
            System.out.printf("nic.udp plain datagrams: %.3f bytes allocated per frame%n", perFrame);
            assertThat(perFrame).isLessThan(NONE_PER_FRAME);
        } finally {
            plainA.close();
            plainB.close();
        }
    }
}
