package io.vmrdma.nic.packet.internal;

import java.nio.ByteBuffer;

import io.vmrdma.api.nic.LinkAddress;

/**
 * Source MAC to {@link LinkAddress}, so a received frame from a known sender costs a probe in an open-addressing
 * table (and a burst from one sender an equality check), never an allocation.
 *
 * <p>Holds at most {@code limit} senders, so frames with spoofed or random source MACs cannot grow it; past that,
 * a sender's address is made afresh for every frame (allocating) and {@link #uncached()} counts it.
 */
final class SourceCache {

    private final int limit;
    private final int mask;
    /** MAC + 1 (0 marks an empty slot; a MAC has 48 bits, so + 1 never overflows into a clash). */
    private final long[] keys;
    private final LinkAddress[] values;
    private int size;
    private long lastKey;
    private LinkAddress last;
    private long uncached;

    SourceCache(int limit) {
        this.limit = limit;
        int capacity = Integer.highestOneBit(Math.max(2, limit) * 2 - 1) << 1;
        mask = capacity - 1;
        keys = new long[capacity];
        values = new LinkAddress[capacity];
    }

    /** The address for the 6-byte MAC at {@code at} in {@code buffer} (big-endian). */
    LinkAddress lookup(ByteBuffer buffer, int at) {
        long key = (((buffer.getInt(at) & 0xFFFF_FFFFL) << 16) | (buffer.getShort(at + 4) & 0xFFFF)) + 1;
        if (key == lastKey) {
            return last;
        }
        int index = (int) ((key * 0x9E37_79B9_7F4A_7C15L) >>> 40) & mask;
        while (keys[index] != 0 && keys[index] != key) {
            index = (index + 1) & mask;
        }
        LinkAddress address = values[index];
        if (address == null) {
            address = LinkAddress.of(mac(key - 1));
            if (size < limit) {
                keys[index] = key;
                values[index] = address;
                size++;
            } else {
                uncached++;
            }
        }
        lastKey = key;
        last = address;
        return address;
    }

    /** Frames whose sender could not be kept because the table was full. */
    long uncached() {
        return uncached;
    }

    private static byte[] mac(long value) {
        byte[] bytes = new byte[6];
        for (int i = 0; i < 6; i++) {
            bytes[i] = (byte) (value >>> (40 - 8 * i));
        }
        return bytes;
    }
}
