package io.vmrdma.api.guest;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One shared ring in Xen's {@code ring.h} layout over a mapped area: the 64-byte header (request producer and
 * event at 0 and 4, response producer and event at 8 and 12, padding to 64) followed by {@link #size()} entries
 * of a fixed size. Indices are free-running unsigned 32-bit counters; the slot of index {@code i} is
 * {@code i & (size - 1)}. Producer indices are read with acquire and written with release; the two full barriers
 * of {@code ring.h} (before reading the consumer's event index, and after re-arming an event) are full fences.
 * Holds no private state: each end keeps its own private indices.
 */
public final class SharedRing {

    /** Bytes of the shared header before the first entry. */
    public static final int HEADER_LENGTH = 64;
    public static final int REQ_PROD = 0;
    public static final int REQ_EVENT = 4;
    public static final int RSP_PROD = 8;
    public static final int RSP_EVENT = 12;

    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class,
            ByteOrder.LITTLE_ENDIAN);

    private final ByteBuffer area;
    private final int entryLength;
    private final int size;

    /** Attaches to a ring whose area (a whole number of pages) is {@code area}; the header is not touched. */
    public SharedRing(ByteBuffer area, int entryLength) {
        this.area = area.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.entryLength = entryLength;
        this.size = entries(area.capacity(), entryLength);
        if (size < 1) {
            throw new IllegalArgumentException("a ring of " + area.capacity() + " bytes holds no entry");
        }
    }

    /** The {@code __RING_SIZE} rule: the largest power of two of entries that fit after the header. */
    public static int entries(int areaBytes, int entryLength) {
        int fit = (areaBytes - HEADER_LENGTH) / entryLength;
        return fit < 1 ? 0 : Integer.highestOneBit(fit);
    }

    /** {@code SHARED_RING_INIT}: producers 0, events 1, padding zeroed. Only the frontend initialises. */
    public void initialise() {
        for (int i = 0; i < HEADER_LENGTH; i += 4) {
            area.putInt(i, 0);
        }
        area.putInt(REQ_EVENT, 1);
        area.putInt(RSP_EVENT, 1);
        VarHandle.fullFence();
    }

    public int size() {
        return size;
    }

    public int entryLength() {
        return entryLength;
    }

    /** The area the entries live in, little-endian; index entries with {@link #offset(int)}. */
    public ByteBuffer area() {
        return area;
    }

    /** Byte offset in {@link #area()} of the entry for free-running index {@code index}. */
    public int offset(int index) {
        return HEADER_LENGTH + (index & (size - 1)) * entryLength;
    }

    public int get(int field) {
        return (int) INT.getAcquire(area, field);
    }

    public void set(int field, int value) {
        INT.setRelease(area, field, value);
    }

    /**
     * Publishes producer index {@code field} = {@code newProd} and says whether the consumer asked to be woken
     * ({@code RING_PUSH_*_AND_CHECK_NOTIFY}): its event index (at {@code eventField}) lies in (old, new].
     */
    public boolean push(int field, int eventField, int newProd) {
        int old = get(field);
        set(field, newProd);
        VarHandle.fullFence();
        int event = get(eventField);
        return Integer.compareUnsigned(newProd - event, newProd - old) < 0;
    }

    /**
     * The consumer's final check before idling ({@code RING_FINAL_CHECK_FOR_*}): re-arms {@code eventField} at
     * {@code consumed + 1} and says whether the producer at {@code prodField} has moved past {@code consumed}.
     */
    public boolean finalCheck(int prodField, int eventField, int consumed) {
        if (get(prodField) != consumed) {
            return true;
        }
        set(eventField, consumed + 1);
        VarHandle.fullFence();
        return get(prodField) != consumed;
    }
}
