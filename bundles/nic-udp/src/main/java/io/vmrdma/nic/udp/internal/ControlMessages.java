package io.vmrdma.nic.udp.internal;

import java.nio.ByteBuffer;

/**
 * The control messages of a UDP message, as the kernel lays them out after {@code msg_control}: a list of
 * {@code struct cmsghdr}, each 8-byte aligned.
 *
 * <pre>
 *  cmsghdr: cmsg_len u64 (header and data) | cmsg_level i32 | cmsg_type i32 | data ... (padded to 8)
 * </pre>
 *
 * On the way out one message, {@code SOL_UDP / UDP_SEGMENT} with a u16 segment size, makes a send one
 * super-datagram that the stack (or the NIC) cuts into datagrams of that size. On the way in, {@code SOL_UDP /
 * UDP_GRO} with an int segment size says the buffer holds datagrams of that size coalesced, the last possibly
 * shorter. The kernel writes these, but the list is read as if it could be anything: every length is checked
 * against the room before it is followed.
 */
final class ControlMessages {

    /** The segment size of a list that is not well-formed: a length past the end, or a segment size out of range. */
    static final int MALFORMED = -1;
    /** CMSG_LEN(0): the header before the data. */
    static final int HEADER = 16;
    /** CMSG_SPACE(sizeof(uint16_t)): room for one UDP_SEGMENT message. */
    static final int SEGMENT_SPACE = 24;
    /** Room for the UDP_GRO message and one more the kernel might add, per received message. */
    static final int RECEIVE_SPACE = 64;
    private static final int LEVEL = 8;
    private static final int TYPE = 12;
    private static final int MAX_SEGMENT = 0xFFFF;

    private ControlMessages() {
    }

    /** Writes a UDP_SEGMENT message of {@code segmentSize} at {@code at}; it takes {@link #SEGMENT_SPACE} bytes. */
    static void writeSegmentSize(ByteBuffer area, int at, int segmentSize) {
        area.putLong(at, HEADER + 2).putInt(at + LEVEL, UdpConstants.SOL_UDP)
                .putInt(at + TYPE, UdpConstants.UDP_SEGMENT).putShort(at + HEADER, (short) segmentSize)
                .putShort(at + HEADER + 2, (short) 0).putInt(at + HEADER + 4, 0);
    }

    /**
     * The segment size of the UDP_GRO message among the {@code length} bytes of control messages at {@code at}:
     * 0 when there is none (the datagram came alone), {@link #MALFORMED} when the list cannot be trusted.
     */
    static int groSegmentSize(ByteBuffer area, int at, int length) {
        int offset = 0;
        while (length - offset >= HEADER) {
            long messageLength = area.getLong(at + offset);
            if (messageLength < HEADER || messageLength > length - offset) {
                return MALFORMED;
            }
            if (area.getInt(at + offset + LEVEL) == UdpConstants.SOL_UDP
                    && area.getInt(at + offset + TYPE) == UdpConstants.UDP_GRO) {
                if (messageLength < HEADER + 4) {
                    return MALFORMED;
                }
                int segment = area.getInt(at + offset + HEADER);
                return segment > 0 && segment <= MAX_SEGMENT ? segment : MALFORMED;
            }
            offset += (int) ((messageLength + 7) & ~7L);
        }
        return 0;
    }
}
