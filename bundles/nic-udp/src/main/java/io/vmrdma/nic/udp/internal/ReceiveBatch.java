package io.vmrdma.nic.udp.internal;

import java.nio.ByteBuffer;

import io.vmrdma.nic.socket.SocketCalls;

/**
 * A preallocated batch for recvmmsg: {@code count} messages, each with one iovec over its own frame slot, room for
 * the sender's socket address and room for control messages (the UDP_GRO segment size). Laid out once; between
 * calls only the lengths the kernel rewrites are restored ({@link #rearm}).
 */
final class ReceiveBatch {

    private final MessageHeaders layout;
    private final ByteBuffer headers;
    private final ByteBuffer frames;
    private final int slotSize;
    private final int nameRoom;

    /** {@code nameRoom}: the size of the socket's address family's sockaddr, which the kernel writes. */
    ReceiveBatch(int count, int slotSize, int nameRoom) {
        this.slotSize = slotSize;
        this.nameRoom = nameRoom;
        layout = new MessageHeaders(count, ControlMessages.RECEIVE_SPACE);
        headers = layout.buffer();
        frames = layout.frameSlots(slotSize);
        for (int i = 0; i < count; i++) {
            headers.putLong(layout.iovec(i) + MessageHeaders.IOV_BYTES, slotSize);
            layout.wire(i, layout.name(i), nameRoom, layout.iovec(i), 1, layout.control(i),
                    ControlMessages.RECEIVE_SPACE);
        }
    }

    /** Address of the first mmsghdr, for recvmmsg. */
    long messages() {
        return layout.address(0);
    }

    /** The frame buffer, big-endian: message {@code i}'s bytes start at {@link #slot}. */
    ByteBuffer frames() {
        return frames;
    }

    int slot(int i) {
        return i * slotSize;
    }

    /** Bytes the kernel put into message {@code i}'s slot. */
    int length(int i) {
        return headers.getInt(layout.message(i) + MessageHeaders.MESSAGE_LENGTH);
    }

    /** Whether message {@code i} was larger than its slot, and so arrived cut short. */
    boolean truncated(int i) {
        return (headers.getInt(layout.message(i) + MessageHeaders.FLAGS) & SocketCalls.MSG_TRUNC) != 0;
    }

    /**
     * The UDP_GRO segment size of message {@code i}: 0 for a datagram that came alone, {@link
     * ControlMessages#MALFORMED} when its control messages were cut short or cannot be read.
     */
    int segmentSize(int i) {
        if ((headers.getInt(layout.message(i) + MessageHeaders.FLAGS) & UdpConstants.MSG_CTRUNC) != 0) {
            return ControlMessages.MALFORMED;
        }
        long written = headers.getLong(layout.message(i) + MessageHeaders.CONTROL_LENGTH);
        return ControlMessages.groSegmentSize(headers, layout.control(i),
                (int) Math.min(Math.max(written, 0), ControlMessages.RECEIVE_SPACE));
    }

    /** The header area, where {@link #name} points at each sender's socket address. */
    ByteBuffer headers() {
        return headers;
    }

    /** Where message {@code i}'s sender address is in {@link #headers()}. */
    int name(int i) {
        return layout.name(i);
    }

    /** Where message {@code i}'s control messages are in {@link #headers()}. */
    int control(int i) {
        return layout.control(i);
    }

    /** Restores the lengths the kernel rewrote in message {@code i}, before it is received into again. */
    void rearm(int i) {
        headers.putInt(layout.message(i) + MessageHeaders.NAME_LENGTH, nameRoom)
                .putLong(layout.message(i) + MessageHeaders.CONTROL_LENGTH, ControlMessages.RECEIVE_SPACE);
    }
}
