package io.vmrdma.api.verbs;

/**
 * The local buffers of a work request: up to {@link #MAX_SGE} entries of (address, length, lkey), where an address
 * is a byte offset into the memory region the lkey names plus the region's base address.
 */
public final class ScatterGatherList {

    /** Most entries a work request may carry. */
    public static final int MAX_SGE = 16;

    private final long[] addresses = new long[MAX_SGE];
    private final int[] lengths = new int[MAX_SGE];
    private final int[] lkeys = new int[MAX_SGE];
    private int count;

    /** Appends an entry. */
    public ScatterGatherList add(long address, int length, int lkey) {
        if (count == MAX_SGE) {
            throw new IllegalStateException("at most " + MAX_SGE + " scatter/gather entries");
        }
        addresses[count] = address;
        lengths[count] = length;
        lkeys[count] = lkey;
        count++;
        return this;
    }

    /** Removes every entry. */
    public void clear() {
        count = 0;
    }

    public int count() {
        return count;
    }

    public long address(int i) {
        return addresses[i];
    }

    /** Length of entry {@code i}, as an unsigned 32-bit count read into an int (lengths stay below 2 GiB). */
    public int length(int i) {
        return lengths[i];
    }

    public int lkey(int i) {
        return lkeys[i];
    }

    /** The sum of all entry lengths. */
    public long totalLength() {
        long total = 0;
        for (int i = 0; i < count; i++) {
            total += lengths[i];
        }
        return total;
    }

    /** Copies every entry of {@code other} into this list. */
    public void copyFrom(ScatterGatherList other) {
        System.arraycopy(other.addresses, 0, addresses, 0, other.count);
        System.arraycopy(other.lengths, 0, lengths, 0, other.count);
        System.arraycopy(other.lkeys, 0, lkeys, 0, other.count);
        count = other.count;
    }
}
