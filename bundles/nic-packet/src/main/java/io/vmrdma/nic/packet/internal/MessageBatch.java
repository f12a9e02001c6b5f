package io.vmrdma.nic.packet.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.vmrdma.nic.socket.ReceiveTimestamps;
import io.vmrdma.nic.socket.SocketCalls;

/**
 * A preallocated batch for sendmmsg / recvmmsg: {@code count} {@code struct mmsghdr}, each with one
 * {@code struct iovec} over its own slot of a frame buffer and, for receiving, a {@code struct sockaddr_ll} for
 * the sender and room for control messages (the kernel's receive timestamp). Everything is native memory laid out
 * once; a batch call only rewrites lengths.
 *
 * <p>Layouts are the LP64 Linux ones (x86_64, aarch64): {@code mmsghdr} is a 56-byte {@code msghdr} and a 4-byte
 * {@code msg_len}, padded to 64.
 */
final class MessageBatch implements AutoCloseable {

    private static final int MMSGHDR_SIZE = 64;
    private static final int MSG_NAME = 0;
    private static final int MSG_NAMELEN = 8;
    private static final int MSG_IOV = 16;
    private static final int MSG_IOVLEN = 24;
    private static final int MSG_CONTROL = 32;
    private static final int MSG_CONTROLLEN = 40;
    private static final int MSG_FLAGS = 48;
    private static final int MSG_LEN = 56;
    private static final int IOVEC_SIZE = 16;
    private static final int IOV_BASE = 0;
    private static final int IOV_LEN = 8;
    /** sizeof(struct sockaddr_ll), rounded up to keep each one 8-byte aligned. */
    private static final int ADDRESS_SIZE = 24;
    private static final int SOCKADDR_LL_SIZE = 20;
    private static final int SLL_PKTTYPE = 10;

    private final int count;
    private final int slotSize;
    private final Memory headers;
    private final Memory frames;
    private final ByteBuffer buffer;
    /** The headers as a buffer in the machine's order, where control messages are read. */
    private final ByteBuffer headerView;
    private final long iovecs;
    private final long addresses;
    /** Offset of the first control room in {@link #headers}; each message's is {@link ReceiveTimestamps#CONTROL_SPACE}. */
    private final int controls;
    private final boolean receiving;
    private boolean closed;

    /**
     * @param withAddresses whether each message gets a sender address (receiving) or none (sending on a bound
     *                      socket, where the kernel takes interface and protocol from the binding)
     */
    MessageBatch(int count, int slotSize, boolean withAddresses) {
        this.count = count;
        this.slotSize = slotSize;
        this.receiving = withAddresses;
        controls = count * (MMSGHDR_SIZE + IOVEC_SIZE + ADDRESS_SIZE);
        headers = new Memory(controls + (withAddresses ? (long) count * ReceiveTimestamps.CONTROL_SPACE : 0));
        headers.clear();
        headerView = headers.getByteBuffer(0, headers.size()).order(ByteOrder.nativeOrder());
        frames = new Memory((long) count * slotSize);
        frames.clear();
        buffer = frames.getByteBuffer(0, frames.size()).order(ByteOrder.BIG_ENDIAN);
        long base = Pointer.nativeValue(headers);
        iovecs = base + (long) count * MMSGHDR_SIZE;
        addresses = iovecs + (long) count * IOVEC_SIZE;
        long frameBase = Pointer.nativeValue(frames);
        for (int i = 0; i < count; i++) {
            long message = (long) i * MMSGHDR_SIZE;
            long iovec = (long) count * MMSGHDR_SIZE + (long) i * IOVEC_SIZE;
            if (withAddresses) {
                headers.setLong(message + MSG_NAME, addresses + (long) i * ADDRESS_SIZE);
                headers.setInt(message + MSG_NAMELEN, SOCKADDR_LL_SIZE);
                headers.setLong(message + MSG_CONTROL, base + control(i));
                headers.setLong(message + MSG_CONTROLLEN, ReceiveTimestamps.CONTROL_SPACE);
            }
            headers.setLong(message + MSG_IOV, iovecs + (long) i * IOVEC_SIZE);
            headers.setLong(message + MSG_IOVLEN, 1);
            headers.setLong(iovec + IOV_BASE, frameBase + (long) i * slotSize);
            headers.setLong(iovec + IOV_LEN, slotSize);
        }
    }

    /** Address of message {@code index}'s mmsghdr: where a batch call starting there begins. */
    long messages(int index) {
        return Pointer.nativeValue(headers) + (long) index * MMSGHDR_SIZE;
    }

    /** The frame buffer, big-endian, as a direct ByteBuffer over the slots. */
    ByteBuffer buffer() {
        return buffer;
    }

    /** Where slot {@code index} starts in {@link #buffer()}. */
    int slot(int index) {
        return index * slotSize;
    }

    /** Sets how many bytes of slot {@code index} message {@code index} carries (sending) or may take (receiving). */
    void length(int index, int bytes) {
        headers.setLong((long) count * MMSGHDR_SIZE + (long) index * IOVEC_SIZE + IOV_LEN, bytes);
    }

    /** Bytes the kernel put in message {@code index}: the whole Ethernet frame, or as much as fitted. */
    int received(int index) {
        return headers.getInt((long) index * MMSGHDR_SIZE + MSG_LEN);
    }

    /** Whether message {@code index} was larger than its slot and so arrived cut short. */
    boolean truncated(int index) {
        return (headers.getInt((long) index * MMSGHDR_SIZE + MSG_FLAGS) & SocketCalls.MSG_TRUNC) != 0;
    }

    /** The {@code sll_pkttype} of message {@code index}'s sender address. */
    int packetType(int index) {
        return headers.getByte((long) count * (MMSGHDR_SIZE + IOVEC_SIZE) + (long) index * ADDRESS_SIZE + SLL_PKTTYPE)
                & 0xFF;
    }

    /** The headers, where {@link #control} and {@link #controlLength} locate message {@code index}'s control messages. */
    ByteBuffer headerView() {
        return headerView;
    }

    /** Where message {@code index}'s control messages start in {@link #headerView()}. */
    int control(int index) {
        return controls + index * ReceiveTimestamps.CONTROL_SPACE;
    }

    /** Bytes of control messages the kernel wrote for message {@code index}. */
    int controlLength(int index) {
        return (int) Math.min(ReceiveTimestamps.CONTROL_SPACE,
                headers.getLong((long) index * MMSGHDR_SIZE + MSG_CONTROLLEN));
    }

    /** Restores the address and control lengths the kernel rewrote in message {@code index}. */
    void rearm(int index) {
        headers.setInt((long) index * MMSGHDR_SIZE + MSG_NAMELEN, SOCKADDR_LL_SIZE);
        if (receiving) {
            headers.setLong((long) index * MMSGHDR_SIZE + MSG_CONTROLLEN, ReceiveTimestamps.CONTROL_SPACE);
        }
    }

    /** Frees the native memory; the buffer must not be touched afterwards. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            headers.close();
            frames.close();
        }
    }
}
