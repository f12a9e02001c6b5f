package io.vmrdma.nic.testkit;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.NicPort;

/**
 * What a port handed up, copied out of each lent window: the frames in arrival order and their sources. Frames may
 * take a moment to cross (a veth hands them over in a softirq), so {@link #await} polls until a deadline.
 */
public final class ReceivedFrames implements FrameHandler {

    private static final long CROSSING_LIMIT_NS = TimeUnit.SECONDS.toNanos(10);

    public final List<byte[]> frames = new ArrayList<>();
    public final List<LinkAddress> sources = new ArrayList<>();

    @Override
    public void onFrame(ByteBuffer buffer, int offset, int length, LinkAddress source) {
        byte[] copy = new byte[length];
        buffer.get(offset, copy);
        frames.add(copy);
        sources.add(source);
    }

    /** Polls {@code port}, {@code limit} frames at a time, until it has nothing waiting. */
    public ReceivedFrames drain(NicPort port, int limit) {
        while (port.poll(this, limit) > 0) {
            // keep going until the port is empty
        }
        return this;
    }

    /** Polls until {@code count} frames have arrived in all; the deadline only stops a broken port from hanging. */
    public ReceivedFrames await(NicPort port, int count) {
        long deadline = System.nanoTime() + CROSSING_LIMIT_NS;
        while (frames.size() < count && System.nanoTime() < deadline) {
            if (port.poll(this, 64) == 0) {
                Thread.onSpinWait();
            }
        }
        return this;
    }

    /** Polls a while longer than frames take to cross, for what must not arrive. */
    public ReceivedFrames settle(NicPort port) {
        for (int i = 0; i < 20; i++) {
            port.poll(this, 64);
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return this;
            }
        }
        return this;
    }
}
