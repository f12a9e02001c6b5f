package io.vmrdma.sched.testkit;

import java.util.ArrayDeque;
import java.util.function.IntSupplier;

import io.vmrdma.api.sched.TransmitQueue;
import io.vmrdma.api.sched.VmSettings;

/**
 * One VM's transmit queue: a FIFO of frames numbered from 0 in arrival order. Departures must come out in the same
 * order, each exactly once; the queue checks that itself.
 */
public final class SimQueue implements TransmitQueue {

    private record Frame(long sequence, int bytes, long arrivedNanos) {
    }

    private final int slot;
    private final String name;
    private final SimSettings settings;
    private final ArrayDeque<Frame> frames = new ArrayDeque<>();
    private long arrived;
    private long departed;
    private long departedBytes;
    private long backlogBytes;
    private IntSupplier bulkFrames;

    SimQueue(int slot, String name, SimSettings settings) {
        this.slot = slot;
        this.name = name;
        this.settings = settings;
    }

    @Override
    public int slot() {
        return slot;
    }

    @Override
    public int domid() {
        return slot + 1;
    }

    @Override
    public String domainName() {
        return name;
    }

    @Override
    public long backlogBytes() {
        return backlogBytes;
    }

    @Override
    public VmSettings settings() {
        return settings;
    }

    /** The settings object the test changes. */
    public SimSettings simSettings() {
        return settings;
    }

    /** Frames that joined this queue so far. */
    public long arrivedFrames() {
        return arrived;
    }

    /** Frames that left, in order, so far. */
    public long departedFrames() {
        return departed;
    }

    /** Bytes that left so far. */
    public long departedBytes() {
        return departedBytes;
    }

    public boolean isEmpty() {
        return frames.isEmpty();
    }

    @Override
    public String toString() {
        return name;
    }

    void arrive(int bytes, long nowNanos) {
        frames.addLast(new Frame(arrived++, bytes, nowNanos));
        backlogBytes += bytes;
    }

    void bulk(IntSupplier frameBytes, long nowNanos) {
        bulkFrames = frameBytes;
        if (frames.isEmpty()) {
            arrive(frameBytes.getAsInt(), nowNanos);
        }
    }

    void stopBulk() {
        bulkFrames = null;
    }

    /** Sends the head frame; a bulk source puts the next one behind it straight away. */
    int depart(SimulatedLink link, Departure listener) {
        Frame frame = frames.pollFirst();
        if (frame == null) {
            throw new AssertionError("queue " + name + " was given a turn with nothing to send");
        }
        if (frame.sequence() != departed) {
            throw new AssertionError("queue " + name + ": frame " + frame.sequence() + " left, expected " + departed);
        }
        departed++;
        departedBytes += frame.bytes();
        backlogBytes -= frame.bytes();
        long left = link.transmit(frame.bytes());
        listener.departed(this, frame.bytes(), frame.arrivedNanos(), left);
        if (bulkFrames != null && frames.isEmpty()) {
            arrive(bulkFrames.getAsInt(), left);
        }
        return frame.bytes();
    }

    void checkConserved() {
        if (departed + frames.size() != arrived) {
            throw new AssertionError("queue " + name + ": " + arrived + " frames arrived, " + departed + " left, "
                    + frames.size() + " waiting");
        }
    }
}
