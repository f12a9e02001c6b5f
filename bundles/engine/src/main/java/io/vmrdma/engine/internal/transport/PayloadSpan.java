package io.vmrdma.engine.internal.transport;

import java.nio.ByteBuffer;

/**
 * Where a frame's payload lies in registered memory, for a binding that sends it from there
 * ({@link io.vmrdma.api.nic.NicPort#commitGather}): a direct buffer and an offset in it. The transport keeps one and
 * reuses it, so pointing it at a payload allocates nothing.
 */
public final class PayloadSpan {

    private ByteBuffer buffer;
    private int offset;

    /** Points this span at {@code offset} of {@code direct}. */
    public void set(ByteBuffer direct, int offset) {
        this.buffer = direct;
        this.offset = offset;
    }

    ByteBuffer buffer() {
        return buffer;
    }

    int offset() {
        return offset;
    }
}
