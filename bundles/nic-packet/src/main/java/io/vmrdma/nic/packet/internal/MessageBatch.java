package io.vmrdma.nic.packet.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.vmrdma.nic.socket.ReceiveTimestamps;
import io.vmrdma.nic.socket.SocketCalls;

/**
 * A preallocated batch for sendmmsg / recvmmsg: {@code count} {@code struct mmsghdr}, each with room for three
 * {@code struct iovec}, the first over its own slot of a frame buffer, and, for receiving, a
 * {@code struct sockaddr_ll} for the sender and room for control messages (the kernel's receive timestamp). A message
 * usually is its slot alone; a gathered one ({@link #gather}) is the slot's head, a payload in memory elsewhere, and
 * the few bytes of the slot after its head. Everything is native memory laid out
 * once; a batch call only rewrites lengths. The per-frame reads and writes of the headers go through a direct
 * ByteBuffer over them (compiled to plain loads and stores), not through JNA's accessors, each a native call.
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
    /** The slot's head, a payload elsewhere, the slot's tail. */
    private static final int IOVECS = 3;
    private static final int IOVECS_SIZE = IOVECS * IOVEC_SIZE;
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
    /** Native address of the first slot. */
    private final long slotAddress;
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
        controls = count * (MMSGHDR_SIZE + IOVECS_SIZE + ADDRESS_SIZE);
        headers = new Memory(controls + (withAddresses ? (long) count * ReceiveTimestamps.CONTROL_SPACE : 0));
        headers.clear();
        headerView = headers.getByteBuffer(0, headers.size()).order(ByteOrder.nativeOrder());
        frames = new Memory((long) count * slotSize);
        frames.clear();
        buffer = frames.getByteBuffer(0, frames.size()).order(ByteOrder.BIG_ENDIAN);
        long base = Pointer.nativeValue(headers);
        iovecs = base + (long) count * MMSGHDR_SIZE;
        addresses = iovecs + (long) count * IOVECS_SIZE;
        long frameBase = Pointer.nativeValue(frames);
        slotAddress = frameBase;
        for (int i = 0; i < count; i++) {
            long message = (long) i * MMSGHDR_SIZE;
            long iovec = (long) count * MMSGHDR_SIZE + (long) i * IOVECS_SIZE;
            if (withAddresses) {
                headers.setLong(message + MSG_NAME, addresses + (long) i * ADDRESS_SIZE);
                headers.setInt(message + MSG_NAMELEN, SOCKADDR_LL_SIZE);
                headers.setLong(message + MSG_CONTROL, base + control(i));
                headers.setLong(message + MSG_CONTROLLEN, ReceiveTimestamps.CONTROL_SPACE);
            }
            headers.setLong(message + MSG_IOV, iovecs + (long) i * IOVECS_SIZE);
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

    /**
     * Makes message {@code index} the first {@code bytes} of its slot alone: what it carries (sending) or may take
     * (receiving).
     */
    void length(int index, int bytes) {
        headerView.putLong(iovec(index, 0) + IOV_LEN, bytes);
        headerView.putLong(index * MMSGHDR_SIZE + MSG_IOVLEN, 1);
    }

    /**
     * Makes message {@code index} three pieces: the first {@code head} bytes of its slot, {@code payloadLength} bytes
     * at native address {@code payloadAddress}, then the {@code tail} bytes of the slot that follow its head.
     */
    void gather(int index, int head, long payloadAddress, int payloadLength, int tail) {
        int first = iovec(index, 0);
        headerView.putLong(first + IOV_LEN, head);
        headerView.putLong(first + IOVEC_SIZE + IOV_BASE, payloadAddress);
        headerView.putLong(first + IOVEC_SIZE + IOV_LEN, payloadLength);
        headerView.putLong(first + 2 * IOVEC_SIZE + IOV_BASE, slotAddress + (long) index * slotSize + head);
        headerView.putLong(first + 2 * IOVEC_SIZE + IOV_LEN, tail);
        headerView.putLong(index * MMSGHDR_SIZE + MSG_IOVLEN, IOVECS);
    }

    /** Where message {@code index}'s iovec {@code piece} starts in {@link #headerView}. */
    private int iovec(int index, int piece) {
        return count * MMSGHDR_SIZE + index * IOVECS_SIZE + piece * IOVEC_SIZE;
    }

    /** Bytes the kernel put in message {@code index}: the whole Ethernet frame, or as much as fitted. */
    int received(int index) {
        return headerView.getInt(index * MMSGHDR_SIZE + MSG_LEN);
    }

    /** Whether message {@code index} was larger than its slot and so arrived cut short. */
    boolean truncated(int index) {
        return (headerView.getInt(index * MMSGHDR_SIZE + MSG_FLAGS) & SocketCalls.MSG_TRUNC) != 0;
    }

    /** The {@code sll_pkttype} of message {@code index}'s sender address. */
    int packetType(int index) {
        return headerView.get(count * (MMSGHDR_SIZE + IOVECS_SIZE) + index * ADDRESS_SIZE + SLL_PKTTYPE) & 0xFF;
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
                headerView.getLong(index * MMSGHDR_SIZE + MSG_CONTROLLEN));
    }

    /** Restores the address and control lengths the kernel rewrote in message {@code index}. */
    void rearm(int index) {
        headerView.putInt(index * MMSGHDR_SIZE + MSG_NAMELEN, SOCKADDR_LL_SIZE);
        if (receiving) {
            headerView.putLong(index * MMSGHDR_SIZE + MSG_CONTROLLEN, ReceiveTimestamps.CONTROL_SPACE);
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
