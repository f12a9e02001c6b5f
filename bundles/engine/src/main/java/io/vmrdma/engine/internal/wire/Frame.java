package io.vmrdma.engine.internal.wire;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;

/**
 * A vmrdma frame: a 32-byte base header, a type-specific extension, then payload. All fields little-endian.
 *
 * <pre>
 *   0               1               2               3
 *   0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
 *  +---------------+---------------+-------------------------------+
 *  |    version    |     type      |             flags             |  0
 *  +---------------+---------------+-------------------------------+
 *  |          source node          |        destination node       |  4
 *  +-------------------------------+-------------------------------+
 *  |         partition key         |        payload length         |  8
 *  +-------------------------------+-------------------------------+
 *  |                  destination queue pair number                |  12
 *  +---------------------------------------------------------------+
 *  |                    source queue pair number                   |  16
 *  +---------------------------------------------------------------+
 *  |                  packet sequence number (PSN)                 |  20
 *  +---------------------------------------------------------------+
 *  |        CRC32C of the header (this field as zero)              |  24
 *  +---------------------------------------------------------------+
 *  |                     aux (meaning per type)                    |  28
 *  +---------------------------------------------------------------+
 *  |          extension (length per type), then payload            |  32
 *  +---------------------------------------------------------------+
 *  |   CRC32C of the payload (only when the payload is not empty)  |  trailer
 *  |   or, with flag AUTH, the {@link AuthTrailer} (32 bytes)      |
 * </pre>
 *
 * Static accessors over a buffer and an offset, so the engine reads and writes frames in place, allocating nothing.
 */
public final class Frame {

    public static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    public static final int VERSION = 1;

    public static final int VERSION_OFFSET = 0;
    public static final int TYPE_OFFSET = 1;
    public static final int FLAGS_OFFSET = 2;
    public static final int SRC_NODE_OFFSET = 4;
    public static final int DST_NODE_OFFSET = 6;
    public static final int PKEY_OFFSET = 8;
    public static final int PAYLOAD_LENGTH_OFFSET = 10;
    public static final int DST_QPN_OFFSET = 12;
    public static final int SRC_QPN_OFFSET = 16;
    public static final int PSN_OFFSET = 20;
    public static final int CRC_OFFSET = 24;
    public static final int AUX_OFFSET = 28;
    public static final int BASE_LENGTH = 32;
    /** The payload CRC after a non-empty payload. */
    public static final int TRAILER_LENGTH = 4;

    /** Flags. */
    public static final int FLAG_FIRST = 1;
    public static final int FLAG_LAST = 2;
    public static final int FLAG_IMM = 4;
    public static final int FLAG_ACK_REQUEST = 8;
    /** The frame ends in an {@link AuthTrailer} (epoch, counter, tag) instead of a payload CRC. */
    public static final int FLAG_AUTH = 0x20;

    private Frame() {
    }

    /** Bytes on the wire of a frame with this header and payload: the trailer follows a non-empty payload. */
    public static int length(int headerLength, int payloadLength) {
        return headerLength + payloadLength + (payloadLength > 0 ? TRAILER_LENGTH : 0);
    }

    /** As {@link #length(int, int)}; an authenticated frame ends in its {@link AuthTrailer} whatever its payload. */
    public static int length(int headerLength, int payloadLength, boolean authenticated) {
        return authenticated ? headerLength + payloadLength + AuthTrailer.LENGTH : length(headerLength, payloadLength);
    }

    /** Writes the base header; the CRCs are filled by {@link FrameCheck}. */
    public static void writeBase(MutableDirectBuffer b, int at, FrameType type, int flags, int srcNode, int dstNode,
                                 int pkey, int payloadLength, int dstQpn, int srcQpn, int psn, int aux) {
        b.putByte(at + VERSION_OFFSET, (byte) VERSION);
        b.putByte(at + TYPE_OFFSET, (byte) type.code());
        b.putShort(at + FLAGS_OFFSET, (short) flags, ORDER);
        b.putShort(at + SRC_NODE_OFFSET, (short) srcNode, ORDER);
        b.putShort(at + DST_NODE_OFFSET, (short) dstNode, ORDER);
        b.putShort(at + PKEY_OFFSET, (short) pkey, ORDER);
        b.putShort(at + PAYLOAD_LENGTH_OFFSET, (short) payloadLength, ORDER);
        b.putInt(at + DST_QPN_OFFSET, dstQpn, ORDER);
        b.putInt(at + SRC_QPN_OFFSET, srcQpn, ORDER);
        b.putInt(at + PSN_OFFSET, psn, ORDER);
        b.putInt(at + CRC_OFFSET, 0, ORDER);
        b.putInt(at + AUX_OFFSET, aux, ORDER);
    }

    public static int version(MutableDirectBuffer b, int at) {
        return b.getByte(at + VERSION_OFFSET) & 0xFF;
    }

    public static int type(MutableDirectBuffer b, int at) {
        return b.getByte(at + TYPE_OFFSET) & 0xFF;
    }

    public static int flags(MutableDirectBuffer b, int at) {
        return b.getShort(at + FLAGS_OFFSET, ORDER) & 0xFFFF;
    }

    public static int srcNode(MutableDirectBuffer b, int at) {
        return b.getShort(at + SRC_NODE_OFFSET, ORDER) & 0xFFFF;
    }

    public static int dstNode(MutableDirectBuffer b, int at) {
        return b.getShort(at + DST_NODE_OFFSET, ORDER) & 0xFFFF;
    }

    public static int pkey(MutableDirectBuffer b, int at) {
        return b.getShort(at + PKEY_OFFSET, ORDER) & 0xFFFF;
    }

    public static int payloadLength(MutableDirectBuffer b, int at) {
        return b.getShort(at + PAYLOAD_LENGTH_OFFSET, ORDER) & 0xFFFF;
    }

    public static int dstQpn(MutableDirectBuffer b, int at) {
        return b.getInt(at + DST_QPN_OFFSET, ORDER);
    }

    public static int srcQpn(MutableDirectBuffer b, int at) {
        return b.getInt(at + SRC_QPN_OFFSET, ORDER);
    }

    public static int psn(MutableDirectBuffer b, int at) {
        return b.getInt(at + PSN_OFFSET, ORDER);
    }

    public static int aux(MutableDirectBuffer b, int at) {
        return b.getInt(at + AUX_OFFSET, ORDER);
    }
}
