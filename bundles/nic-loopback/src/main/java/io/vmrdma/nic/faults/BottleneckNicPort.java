package io.vmrdma.nic.faults;

import java.nio.ByteBuffer;
import java.util.function.LongSupplier;

import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.NicPort;

/**
 * The switch port in front of a receiver: every frame that arrives for the wrapped port waits in one FIFO queue that
 * drains at a fixed rate, and a frame that would make the queue hold more than its depth is dropped (tail drop), as
 * a {@code tbf} qdisc on a bridge port does. Several senders sharing it make an incast bottleneck on one machine.
 * Frames wait in one preallocated ring (the queue's depth and two frames), so it allocates nothing per frame; time is the clock
 * it is given, so a test with a hand-advanced clock repeats exactly.
 */
public final class BottleneckNicPort extends ForwardingNicPort {

    /** Most frames waiting at once, whatever their size. */
    private static final int SLOTS = 8192;
    /** Frames taken from the wrapped port per poll: more than a duty cycle's worth, so its queue does not build. */
    private static final int DRAIN = 4096;

    private final long bytesPerSecond;
    private final int depthBytes;
    private final LongSupplier clock;
    private final ByteBuffer ring;
    private final int[] offset = new int[SLOTS];
    private final int[] length = new int[SLOTS];
    private final long[] departs = new long[SLOTS];
    private final LinkAddress[] source = new LinkAddress[SLOTS];
    private int head;
    private int size;
    /** Where the next frame's bytes go in {@link #ring}. */
    private int writeAt;
    private int queuedBytes;
    /** When the last frame queued leaves: the next one starts serializing then or on arrival, whichever is later. */
    private long lastDeparts;
    private final Queuer queuer = new Queuer();
    private long forwarded;
    private long dropped;
    private long forwardedBytes;
    /** How long the frame being handed up has been out of the queue: it reached the host when it left. */
    private long frameWaitNanos;

    /**
     * @param inner          the receiver's port
     * @param bytesPerSecond the rate the queue drains at
     * @param depthBytes     the most bytes the queue holds
     * @param clock          nanoseconds
     */
    public BottleneckNicPort(NicPort inner, long bytesPerSecond, int depthBytes, LongSupplier clock) {
        super(inner);
        if (bytesPerSecond < 1 || depthBytes < inner.mtu()) {
            throw new IllegalArgumentException("a bottleneck needs a rate and a depth of at least one frame, not "
                    + bytesPerSecond + " B/s and " + depthBytes + " B");
        }
        this.bytesPerSecond = bytesPerSecond;
        this.depthBytes = depthBytes;
        this.clock = clock;
        this.ring = ByteBuffer.allocateDirect(depthBytes + 2 * inner.mtu());
    }

    /** Frames that went through the queue. */
    public long forwarded() {
        return forwarded;
    }

    /** Their bytes. */
    public long forwardedBytes() {
        return forwardedBytes;
    }

    /** Frames dropped because the queue was full. */
    public long dropped() {
        return dropped;
    }

    /** Bytes waiting now. */
    public int queuedBytes() {
        return queuedBytes;
    }

    @Override
    public String interfaceName() {
        return inner.interfaceName() + " (bottleneck)";
    }

    @Override
    public int poll(FrameHandler handler, int frameLimit) {
        inner.poll(queuer, DRAIN);
        long now = clock.getAsLong();
        int delivered = 0;
        while (size > 0 && delivered < frameLimit && now - departs[head] >= 0) {
            frameWaitNanos = now - departs[head];
            handler.onFrame(ring, offset[head], length[head], source[head]);
            forwarded++;
            forwardedBytes += length[head];
            queuedBytes -= length[head];
            source[head] = null;
            head = (head + 1) % SLOTS;
            size--;
            delivered++;
        }
        if (size == 0) {
            writeAt = 0;
        }
        return delivered;
    }

    /** Since the frame being handed up left the queue: the time it waited for the receiver's poll. */
    @Override
    public long frameWaitNanos() {
        return frameWaitNanos;
    }

    /** Takes frames off the wrapped port into the queue, or drops them when it is full. */
    private final class Queuer implements FrameHandler {
        @Override
        public void onFrame(ByteBuffer buffer, int from, int bytes, LinkAddress sender) {
            int at = size == SLOTS || queuedBytes + bytes > depthBytes ? -1 : place(bytes);
            if (at < 0) {
                dropped++;
                return;
            }
            ring.put(at, buffer, from, bytes);
            long now = clock.getAsLong();
            long start = Math.max(now, lastDeparts);
            lastDeparts = start + bytes * 1_000_000_000L / bytesPerSecond;
            int tail = (head + size) % SLOTS;
            offset[tail] = at;
            length[tail] = bytes;
            departs[tail] = lastDeparts;
            source[tail] = sender;
            size++;
            queuedBytes += bytes;
        }
    }

    /**
     * Where a frame of {@code bytes} goes in the ring: after the newest, or at the start when it would not fit before
     * the end; -1 when it fits nowhere. The ring holds the depth and two frames while no more than the depth is
     * queued, so a frame the depth admits always fits: the space skipped at the end is less than one frame.
     */
    private int place(int bytes) {
        int oldest = size == 0 ? writeAt : offset[head];
        boolean wrapped = size > 0 && writeAt < oldest;
        int at;
        if (wrapped) {
            at = writeAt + bytes <= oldest ? writeAt : -1;
        } else if (writeAt + bytes <= ring.capacity()) {
            at = writeAt;
        } else {
            at = size == 0 || bytes <= oldest ? 0 : -1;
        }
        if (at >= 0) {
            writeAt = at + bytes;
        }
        return at;
    }
}
