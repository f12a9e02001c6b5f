package io.vmrdma.api.nic;

import java.nio.ByteBuffer;

/**
 * A window into a binding's transmit buffer, lent to the engine between {@link NicPort#tryClaim} and
 * {@link NicPort#commit} or {@link NicPort#abort}. The engine keeps one instance per port and reuses it, so
 * claiming allocates nothing.
 */
public final class FrameClaim {

    private ByteBuffer buffer;
    private int offset;
    private int capacity;
    private long token;

    /** Called by a binding to lend a window; {@code token} is the binding's own bookkeeping. */
    public void lend(ByteBuffer buffer, int offset, int capacity, long token) {
        this.buffer = buffer;
        this.offset = offset;
        this.capacity = capacity;
        this.token = token;
    }

    /** Called by a binding once the window is returned. */
    public void reset() {
        buffer = null;
        offset = 0;
        capacity = 0;
        token = 0;
    }

    /** The buffer holding the window; write with absolute puts only. */
    public ByteBuffer buffer() {
        return buffer;
    }

    /** Where the frame starts in {@link #buffer()}: the first byte of the vmrdma header. */
    public int offset() {
        return offset;
    }

    /** How many bytes may be written from {@link #offset()}. */
    public int capacity() {
        return capacity;
    }

    /** The binding's own bookkeeping for this claim. */
    public long token() {
        return token;
    }

    /** Whether a window is currently lent. */
    public boolean isLent() {
        return buffer != null;
    }
}
