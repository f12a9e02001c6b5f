package io.vmrdma.engine.internal.verbs;

/**
 * The dom0 heap that queue pairs and completion queues may take, node-wide: each is charged its full size when it
 * is made (its entries are allocated lazily, but a guest may fill them at any time) and released when it goes, so
 * no sequence of guest requests can make the engine's JVM run out of memory. Per domain the same charge counts
 * against {@link Limits#maxQueueBytes()}. Data agent's thread only.
 */
final class QueueMemory {

    /*
     * Bytes per entry, from the objects' layouts with compressed references (12-byte headers, 8-byte alignment): a
     * scatter/gather list is 32 bytes plus long[16], int[16] and int[16] (144 + 80 + 80); a send entry adds about 96
     * bytes of fields, a receive entry 24; each slot also holds a 4-byte reference. A completion queue keeps seven
     * parallel arrays of 23 bytes per entry.
     */
    static final long SEND_SLOT_BYTES = 448;
    static final long RECV_SLOT_BYTES = 368;
    static final long CQ_ENTRY_BYTES = 24;

    private long capacity;
    private long used;

    QueueMemory(long capacity) {
        capacity(capacity);
    }

    /** Sets the node's queue memory; queues already made keep their charge, even past a lowered capacity. */
    void capacity(long bytes) {
        if (bytes < 1) {
            throw new IllegalArgumentException("queue memory must be positive, not " + bytes);
        }
        capacity = bytes;
    }

    /** What a queue pair with these queue sizes is charged. */
    static long ofQp(int maxSendWr, int maxRecvWr) {
        return maxSendWr * SEND_SLOT_BYTES + maxRecvWr * RECV_SLOT_BYTES;
    }

    /** What a completion queue of {@code depth} entries is charged. */
    static long ofCq(int depth) {
        return depth * CQ_ENTRY_BYTES;
    }

    /** Takes {@code bytes} if the node has them left. */
    boolean reserve(long bytes) {
        if (bytes > capacity - used) {
            return false;
        }
        used += bytes;
        return true;
    }

    void release(long bytes) {
        used -= bytes;
    }

    long used() {
        return used;
    }

    long capacity() {
        return capacity;
    }
}
