package io.vmrdma.nic.udp.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The native side of a batch for sendmmsg or recvmmsg: {@code count} {@code struct mmsghdr}, as many
 * {@code struct iovec}, socket address rooms and control message rooms, laid out once, and the frame slots the
 * iovecs point at. Offsets are the LP64 Linux ones (x86_64, aarch64): an mmsghdr is a 56-byte {@code msghdr} and a
 * 4-byte {@code msg_len}, padded to 64.
 *
 * <pre>
 *  msghdr:  name u64 | namelen u32 | pad 4 | iov u64 | iovlen u64 | control u64 | controllen u64 | flags i32 | pad 4
 *  mmsghdr: msghdr (56) | msg_len u32 | pad 4
 *  iovec:   base u64 | len u64
 *  area:    mmsghdr[count] | iovec[count] | sockaddr room[count] (32 each) | control room[count]
 * </pre>
 */
final class MessageHeaders {

    static final int MMSGHDR_SIZE = 64;
    static final int IOVEC_SIZE = 16;
    static final int NAME = 0;
    static final int NAME_LENGTH = 8;
    static final int IOV = 16;
    static final int IOV_LENGTH = 24;
    static final int CONTROL = 32;
    static final int CONTROL_LENGTH = 40;
    static final int FLAGS = 48;
    static final int MESSAGE_LENGTH = 56;
    static final int IOV_BASE = 0;
    static final int IOV_BYTES = 8;

    private final int count;
    private final int iovecs;
    private final int names;
    private final int controls;
    private final int controlRoom;
    private final NativeArea area;
    private final ByteBuffer buffer;

    /** {@code controlRoom}: bytes of control messages each message may carry. */
    MessageHeaders(int count, int controlRoom) {
        this.count = count;
        this.controlRoom = controlRoom;
        iovecs = count * MMSGHDR_SIZE;
        names = iovecs + count * IOVEC_SIZE;
        controls = names + count * Endpoints.SOCKADDR_ROOM;
        area = new NativeArea(controls + count * controlRoom, ByteOrder.nativeOrder());
        buffer = area.buffer();
    }

    /**
     * Allocates {@code count} frame slots of {@code slotSize} bytes, big-endian as frames are, and points iovec
     * {@code i} at slot {@code i}.
     */
    ByteBuffer frameSlots(int slotSize) {
        NativeArea frames = new NativeArea(count * slotSize, ByteOrder.BIG_ENDIAN);
        for (int i = 0; i < count; i++) {
            buffer.putLong(iovec(i) + IOV_BASE, frames.address(i * slotSize));
        }
        return frames.buffer();
    }

    /** The headers, in the machine's byte order, at the offsets below. */
    ByteBuffer buffer() {
        return buffer;
    }

    /** The native address of {@code offset}: where a batch call starting at that message begins. */
    long address(int offset) {
        return area.address(offset);
    }

    int message(int i) {
        return i * MMSGHDR_SIZE;
    }

    int iovec(int i) {
        return iovecs + i * IOVEC_SIZE;
    }

    int name(int i) {
        return names + i * Endpoints.SOCKADDR_ROOM;
    }

    int control(int i) {
        return controls + i * controlRoom;
    }

    /**
     * Points message {@code m} at the socket address at {@code name}, {@code iovLength} iovecs from {@code iovec}
     * on, and {@code controlLength} bytes of control messages at {@code control} (0 bytes: none).
     */
    void wire(int m, int name, int nameLength, int iovec, int iovLength, int control, int controlLength) {
        buffer.putLong(message(m) + NAME, address(name)).putInt(message(m) + NAME_LENGTH, nameLength)
                .putLong(message(m) + IOV, address(iovec)).putLong(message(m) + IOV_LENGTH, iovLength)
                .putLong(message(m) + CONTROL, controlLength == 0 ? 0 : address(control))
                .putLong(message(m) + CONTROL_LENGTH, controlLength);
    }
}
