package io.vmrdma.engine.testkit;

import java.util.ArrayList;
import java.util.List;

import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.NicPort;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameType;
import io.vmrdma.nic.faults.ForwardingNicPort;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A port that keeps a copy of every frame its engine receives: what a host that sees the segment can capture and
 * replay later (published in the engine's test jar for the bindings' tests).
 */
public final class CapturingPort extends ForwardingNicPort {

    private final List<byte[]> frames = new ArrayList<>();
    private FrameHandler engine;
    private final FrameHandler recording = (buffer, offset, length, source) -> {
        byte[] copy = new byte[length];
        buffer.get(offset, copy);
        frames.add(copy);
        engine.onFrame(buffer, offset, length, source);
    };

    public CapturingPort(NicPort inner) {
        super(inner);
    }

    @Override
    public int poll(FrameHandler handler, int frameLimit) {
        engine = handler;
        return inner.poll(recording, frameLimit);
    }

    /** How many frames were captured so far: a mark for {@link #first(FrameType, int, int)}. */
    public int captured() {
        return frames.size();
    }

    /** A copy of the first frame captured of {@code type} from node {@code src}; fails when there is none. */
    public byte[] first(FrameType type, int src) {
        return first(type, src, 0);
    }

    /** As above, among the frames captured from the {@code from}-th on. */
    public byte[] first(FrameType type, int src, int from) {
        for (byte[] f : frames.subList(from, frames.size())) {
            UnsafeBuffer b = new UnsafeBuffer(f);
            if (Frame.type(b, 0) == type.code() && Frame.srcNode(b, 0) == src) {
                return f.clone();
            }
        }
        throw new AssertionError("no " + type + " from node " + src + " captured");
    }
}
