package io.vmrdma.nic.packet.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import org.junit.jupiter.api.Test;

/**
 * Heap bytes this thread allocates per frame across a veth pair, counted by the JVM (HotSpot's per-thread
 * allocation counter), after a warm-up so that class loading and compilation are out of the picture.
 */
class PacketPortAllocationTest {

    private static final int FRAMES = 20_000;
    private static final int BATCH = 32;
    /** The smallest object is 16 bytes: under one byte per frame means nothing is allocated per frame. */
    private static final double NONE_PER_FRAME = 1.0;

    private final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private final FrameClaim claim = new FrameClaim();
    private final Sink sink = new Sink();
    private final ByteBuffer payload = ByteBuffer.allocateDirect(4096);

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

    @Test
    void framesAcrossTheVethAllocateNothing() {
        assumeTrue(threads.isThreadAllocatedMemorySupported(), "this JVM does not count allocations per thread");
        threads.setThreadAllocatedMemoryEnabled(true);
        try (VethLink link = VethLink.create(1500);
                PacketPort a = link.a.call(() -> new PacketPort(PacketSettings.of(link.interfaceA)));
                PacketPort b = link.b.call(() -> new PacketPort(PacketSettings.of(link.interfaceB)))) {
            LinkAddress to = b.address();
            double perFrame = 0;
            for (int round = 0; round < 2; round++) {
                sink.frames = 0;
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int sent = BATCH; sent <= FRAMES; sent += BATCH) {
                    for (int i = 0; i < BATCH; i++) {
                        // Not AssertJ here: an assertion object per frame would be the allocation measured.
                        if (!a.tryClaim(to, 256, claim)) {
                            throw new AssertionError("claim refused");
                        }
                        claim.buffer().putInt(claim.offset(), i);
                        if (i % 2 == 0) {
                            a.commit(claim, 256);
                        } else {
                            // Every other frame in pieces: a payload read from memory outside the port's slots.
                            a.commitGather(claim, 4, payload, i, 248, 4);
                        }
                    }
                    if (a.flush() != BATCH) {
                        throw new AssertionError("batch not sent");
                    }
                    // The receive softirq may lag the send: poll until the batch is in.
                    while (sink.frames < sent) {
                        b.poll(sink, BATCH);
                    }
                }
                perFrame = (double) (threads.getCurrentThreadAllocatedBytes() - before) / FRAMES;
            }
            System.out.printf("nic.packet: %.3f bytes allocated per frame%n", perFrame);
            assertThat(sink.frames).isEqualTo(FRAMES - FRAMES % BATCH);
            assertThat(perFrame).isLessThan(NONE_PER_FRAME);
        }
    }
}
