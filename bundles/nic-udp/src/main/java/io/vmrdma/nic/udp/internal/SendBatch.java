package io.vmrdma.nic.udp.internal;

import java.nio.ByteBuffer;

import io.vmrdma.api.nic.LinkAddress;

/**
 * A preallocated batch for sendmmsg: {@code count} frame slots, each with its iovec and its destination's socket
 * address, and as many messages, each with room for one UDP_SEGMENT control message.
 *
 * <p>{@link #plan} turns the committed frames into messages. Without segmentation that is one datagram per frame.
 * With it, a run of frames to one destination that are all the size of the first, except that the last may be
 * shorter, becomes one message whose iovecs are those frames' slots and whose UDP_SEGMENT is the first frame's
 * size: the kernel cuts it back into exactly those datagrams, so the wire carries one frame per datagram as before,
 * while the stack is crossed once per run instead of once per frame.
 */
final class SendBatch {

    /** Segments in one UDP_SEGMENT send: the kernel's UDP_MAX_SEGMENTS of Linux 4.18 (later kernels allow more). */
    static final int MAX_SEGMENTS = 64;
    /** The largest UDP payload, and so of a super-datagram: 65535 less the IPv4 and UDP headers. */
    static final int MAX_PAYLOAD = 65507;

    private final MessageHeaders layout;
    private final ByteBuffer headers;
    private final ByteBuffer frames;
    private final int slotSize;
    private final int[] lengths;
    private final int[] nameLengths;
    private final LinkAddress[] destinations;
    private final int[] framesOf;

    SendBatch(int count, int slotSize) {
        this.slotSize = slotSize;
        layout = new MessageHeaders(count, ControlMessages.SEGMENT_SPACE);
        headers = layout.buffer();
        frames = layout.frameSlots(slotSize);
        lengths = new int[count];
        nameLengths = new int[count];
        destinations = new LinkAddress[count];
        framesOf = new int[count];
    }

    /** The frame buffer, big-endian, which the engine writes in place. */
    ByteBuffer frames() {
        return frames;
    }

    int slot(int i) {
        return i * slotSize;
    }

    /** Addresses slot {@code i} to {@code destination}, which {@code endpoints} found routable. */
    void address(int i, LinkAddress destination, Endpoints endpoints) {
        nameLengths[i] = endpoints.writeDestination(destination, headers, layout.name(i));
        destinations[i] = destination;
    }

    /** Records the committed length of slot {@code i}'s frame. */
    void commit(int i, int length) {
        lengths[i] = length;
        headers.putLong(layout.iovec(i) + MessageHeaders.IOV_BYTES, length);
    }

    /**
     * Lays out messages for the frames in slots {@code [head, tail)}, one run of frames per message as described
     * above when {@code segment}, one frame per message otherwise.
     *
     * @return how many messages, from {@link #messages()} on
     */
    int plan(int head, int tail, boolean segment) {
        int messages = 0;
        for (int first = head; first < tail; messages++) {
            int frameCount = segment ? run(first, tail) : 1;
            int segmentSize = frameCount > 1 ? lengths[first] : 0;
            if (segmentSize > 0) {
                ControlMessages.writeSegmentSize(headers, layout.control(messages), segmentSize);
            }
            layout.wire(messages, layout.name(first), nameLengths[first], layout.iovec(first), frameCount,
                    layout.control(messages), segmentSize > 0 ? ControlMessages.SEGMENT_SPACE : 0);
            framesOf[messages] = frameCount;
            first += frameCount;
        }
        return messages;
    }

    /** Address of the first message of the last plan, for sendmmsg. */
    long messages() {
        return layout.address(0);
    }

    /** The frames message {@code m} of the last plan carries. */
    int framesOf(int m) {
        return framesOf[m];
    }

    /** Whether message {@code m} of the last plan is a super-datagram (more than one frame). */
    boolean segmented(int m) {
        return framesOf[m] > 1;
    }

    /** How many frames from slot {@code first} on go in one super-datagram: 1 when segmentation gains nothing. */
    private int run(int first, int tail) {
        int size = lengths[first];
        if (size == 0) {
            return 1;
        }
        LinkAddress to = destinations[first];
        int frameCount = 1;
        int total = size;
        while (first + frameCount < tail && frameCount < MAX_SEGMENTS) {
            int next = first + frameCount;
            int length = lengths[next];
            if (length > size || length == 0 || total + length > MAX_PAYLOAD
                    || destinations[next] != to && !destinations[next].equals(to)) {
                break;
            }
            frameCount++;
            total += length;
            if (length < size) {
                break;
            }
        }
        return frameCount;
    }
}
