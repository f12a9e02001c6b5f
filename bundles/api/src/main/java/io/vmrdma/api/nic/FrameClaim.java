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

    /**
     * Lays out a frame committed in pieces ({@link NicPort#commitGather}) in the window, for a binding that sends it
     * whole: the {@code tail} bytes at {@code [head, head + tail)} move behind the payload, and {@code payloadLength}
     * bytes of {@code payload} from {@code payloadOffset} are copied in after the head.
     *
     * @throws IndexOutOfBoundsException if the frame does not fit the window
     */
    public void placePayload(int head, ByteBuffer payload, int payloadOffset, int payloadLength, int tail) {
        if (head < 0 || payloadLength < 0 || tail < 0 || (long) head + payloadLength + tail > capacity) {
            throw new IndexOutOfBoundsException("a frame of " + head + " + " + payloadLength + " + " + tail
                    + " bytes in a window of " + capacity);
        }
        buffer.put(offset + head + payloadLength, buffer, offset + head, tail);
        buffer.put(offset + head, payload, payloadOffset, payloadLength);
    }

    /** Whether a window is currently lent. */
    public boolean isLent() {
        return buffer != null;
    }
}
