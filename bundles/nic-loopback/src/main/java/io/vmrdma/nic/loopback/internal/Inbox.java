package io.vmrdma.nic.loopback.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * A port's receive queue: a ring of fixed-size slots over direct memory, many writers, one reader. A writer claims
 * the next slot (CAS on the tail), writes its frame in place and publishes the slot's length with an ordered store;
 * the reader takes slots in claim order, reads each frame in place and frees it by clearing only the length word.
 * Nothing is zeroed behind the reader, so a frame costs the writer's copy and the reader's copy, nothing more.
 *
 * <p>Slot layout: {@code [length + 1 : int32, 0 = not yet published, -1 = aborted][source port : int32][frame]}.
 */
final class Inbox {

    static final int HEADER = 8;
    private static final int EMPTY = 0;
    private static final int ABORTED = -1;

    private final UnsafeBuffer buffer;
    private final int slotSize;
    private final int slots;
    private final AtomicLong tail = new AtomicLong();
    private final AtomicLong head = new AtomicLong();

    /** An inbox of about {@code bytes} for frames of up to {@code maxFrame} bytes. */
    Inbox(int bytes, int maxFrame) {
        slotSize = (maxFrame + HEADER + 63) & ~63;
        slots = bytes / slotSize;
        if (slots < 2) {
            throw new IllegalArgumentException("an inbox of " + bytes + " bytes holds fewer than two frames of "
                    + maxFrame);
        }
        buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(slots * slotSize));
    }

    ByteBuffer byteBuffer() {
        return buffer.byteBuffer();
    }

    /** Claims the next slot and returns the offset of its frame area, or -1 when the inbox is full. */
    int claim() {
        while (true) {
            long t = tail.get();
            if (t - head.get() >= slots) {
                return -1;
            }
            if (tail.compareAndSet(t, t + 1)) {
                return slotOffset(t) + HEADER;
            }
        }
    }

    /** Publishes the frame of {@code length} bytes in the slot claimed at {@code frameOffset}. */
    void commit(int frameOffset, int length, int sourcePort) {
        buffer.putInt(frameOffset - HEADER + 4, sourcePort);
        buffer.putIntOrdered(frameOffset - HEADER, length + 1);
    }

    /** Gives a claimed slot back unsent; the reader skips it. */
    void abort(int frameOffset) {
        buffer.putIntOrdered(frameOffset - HEADER, ABORTED);
    }

    /** What the reader hands frames to. */
    interface Reader {
        void onFrame(ByteBuffer bytes, int offset, int length, int sourcePort);
    }

    /** Hands up to {@code limit} published frames to {@code reader}, in claim order; returns how many. */
    int read(Reader reader, int limit) {
        int frames = 0;
        long h = head.get();
        while (frames < limit) {
            int at = slotOffset(h);
            int word = buffer.getIntVolatile(at);
            if (word == EMPTY) {
                break;
            }
            if (word != ABORTED) {
                reader.onFrame(buffer.byteBuffer(), at + HEADER, word - 1, buffer.getInt(at + 4));
                frames++;
            }
            buffer.putIntOrdered(at, EMPTY);
            h++;
            head.lazySet(h);
        }
        return frames;
    }

    private int slotOffset(long sequence) {
        return (int) (sequence % slots) * slotSize;
    }
}
