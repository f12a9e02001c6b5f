package io.vmrdma.engine.internal.wire;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * CRC32C over a whole frame with its CRC field taken as zero. The JDK's CRC32C is intrinsic (SSE4.2); it reads a
 * ByteBuffer through its position and limit, so this keeps one view per underlying buffer and moves that, never the
 * binding's own buffer, and allocates only when a binding hands over a buffer it has not seen.
 */
public final class FrameCheck {

    private final CRC32C crc = new CRC32C();
    private ByteBuffer viewed;
    private ByteBuffer view;

    /** The CRC32C of {@code length} bytes at {@code offset}, counting the CRC field as zero. */
    public int compute(ByteBuffer buffer, int offset, int length) {
        ByteBuffer v = viewOf(buffer);
        crc.reset();
        int crcAt = offset + Frame.CRC_OFFSET;
        v.limit(crcAt).position(offset);
        crc.update(v);
        crc.update(0);
        crc.update(0);
        crc.update(0);
        crc.update(0);
        v.limit(offset + length).position(crcAt + 4);
        crc.update(v);
        return (int) crc.getValue();
    }

    /**
     * Starts a CRC over a frame whose header (the first {@code headerLength} bytes) is written; the payload follows
     * through {@link #update} piece by piece, each piece right after it is copied in (still in the first-level
     * cache), and {@link #finish} writes the result.
     */
    public void start(ByteBuffer buffer, int offset, int headerLength) {
        ByteBuffer v = viewOf(buffer);
        crc.reset();
        int crcAt = offset + Frame.CRC_OFFSET;
        v.limit(crcAt).position(offset);
        crc.update(v);
        crc.update(0);
        crc.update(0);
        crc.update(0);
        crc.update(0);
        v.limit(offset + headerLength).position(crcAt + 4);
        crc.update(v);
    }

    /** Adds {@code length} bytes at {@code offset} to the CRC started by {@link #start}. */
    public void update(int offset, int length) {
        view.limit(offset + length).position(offset);
        crc.update(view);
    }

    /** Writes the CRC started by {@link #start} into the frame at {@code offset}. */
    public void finish(int offset) {
        view.clear();
        view.order(Frame.ORDER).putInt(offset + Frame.CRC_OFFSET, (int) crc.getValue());
    }

    /** Writes the CRC of a finished frame into its header. */
    public void seal(ByteBuffer buffer, int offset, int length) {
        int value = compute(buffer, offset, length);
        viewOf(buffer).order(Frame.ORDER).putInt(offset + Frame.CRC_OFFSET, value);
    }

    /** Whether the frame's CRC field matches its bytes. */
    public boolean verify(ByteBuffer buffer, int offset, int length) {
        int stored = viewOf(buffer).order(Frame.ORDER).getInt(offset + Frame.CRC_OFFSET);
        return stored == compute(buffer, offset, length);
    }

    private ByteBuffer viewOf(ByteBuffer buffer) {
        if (buffer != viewed) {
            viewed = buffer;
            view = buffer.duplicate();
        }
        view.clear();
        return view;
    }
}
