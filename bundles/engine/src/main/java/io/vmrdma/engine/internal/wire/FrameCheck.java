package io.vmrdma.engine.internal.wire;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The two CRC32Cs of a frame: one over the header (base header and extension, its CRC field taken as zero) in the
 * base header, and one over the payload in a 4-byte trailer after it. The header is checked before anything in it
 * is believed; the payload is checked while it is copied into place ({@link #startPayload}, {@link #update},
 * {@link #payloadMatches}), so a receiver reads it once.
 *
 * <p>The JDK's CRC32C is intrinsic (SSE4.2); it reads a ByteBuffer through its position and limit, so this keeps one
 * view per underlying buffer and moves that, never the binding's own buffer, and allocates only when a binding hands
 * over a buffer it has not seen.
 */
public final class FrameCheck {

    private final CRC32C crc = new CRC32C();
    private ByteBuffer viewed;
    private ByteBuffer view;
    /** A view of the memory a payload was last read from in place, and that memory. */
    private ByteBuffer sourceViewed;
    private ByteBuffer sourceView;

    /** The CRC32C of the {@code headerLength} header bytes at {@code at}, counting the CRC field as zero. */
    public int headerCrc(ByteBuffer buffer, int at, int headerLength) {
        ByteBuffer v = viewOf(buffer);
        crc.reset();
        int crcAt = at + Frame.CRC_OFFSET;
        v.limit(crcAt).position(at);
        crc.update(v);
        crc.update(0);
        crc.update(0);
        crc.update(0);
        crc.update(0);
        v.limit(at + headerLength).position(crcAt + 4);
        crc.update(v);
        return (int) crc.getValue();
    }

    /** Writes the header CRC of the frame at {@code at}. */
    public void sealHeader(ByteBuffer buffer, int at, int headerLength) {
        int value = headerCrc(buffer, at, headerLength);
        view.clear();
        view.order(Frame.ORDER).putInt(at + Frame.CRC_OFFSET, value);
    }

    /** Whether the header CRC of the frame at {@code at} matches its header bytes. */
    public boolean verifyHeader(ByteBuffer buffer, int at, int headerLength) {
        int value = headerCrc(buffer, at, headerLength);
        view.clear();
        return view.order(Frame.ORDER).getInt(at + Frame.CRC_OFFSET) == value;
    }

    /** Starts a payload CRC over bytes of {@code buffer}, added piece by piece through {@link #update}. */
    public void startPayload(ByteBuffer buffer) {
        viewOf(buffer);
        crc.reset();
    }

    /** Adds {@code length} bytes at {@code offset} to the payload CRC. */
    public void update(int offset, int length) {
        view.limit(offset + length).position(offset);
        crc.update(view);
    }

    /**
     * Adds {@code length} bytes of {@code source} at {@code offset} to the payload CRC started by {@link #startPayload}:
     * a payload read where it lies, not in the frame's buffer. The trailer is still written to (or read from) the
     * frame's buffer.
     */
    public void update(ByteBuffer source, int offset, int length) {
        if (source != sourceViewed) {
            sourceViewed = source;
            sourceView = source.duplicate();
        }
        sourceView.clear();
        sourceView.limit(offset + length).position(offset);
        crc.update(sourceView);
    }

    /** Writes the payload CRC into the trailer at {@code trailerAt}. */
    public void finishPayload(int trailerAt) {
        view.clear();
        view.order(Frame.ORDER).putInt(trailerAt, (int) crc.getValue());
    }

    /** Whether the payload CRC matches the trailer at {@code trailerAt}. */
    public boolean payloadMatches(int trailerAt) {
        view.clear();
        return view.order(Frame.ORDER).getInt(trailerAt) == (int) crc.getValue();
    }

    /** Writes both CRCs of a frame whose header and payload are in place. */
    public void seal(ByteBuffer buffer, int at, int headerLength, int payloadLength) {
        sealHeader(buffer, at, headerLength);
        if (payloadLength > 0) {
            startPayload(buffer);
            update(at + headerLength, payloadLength);
            finishPayload(at + headerLength + payloadLength);
        }
    }

    /** Whether the payload's trailer matches it, in one pass (for payloads that are not copied anywhere). */
    public boolean verifyPayload(ByteBuffer buffer, int payloadAt, int payloadLength) {
        startPayload(buffer);
        update(payloadAt, payloadLength);
        return payloadMatches(payloadAt + payloadLength);
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
