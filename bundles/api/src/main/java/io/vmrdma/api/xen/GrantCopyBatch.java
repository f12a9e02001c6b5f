package io.vmrdma.api.xen;

import java.nio.ByteBuffer;

/**
 * Segments for one {@link GrantMapper#grantCopy} call, as an array of {@code xengnttab_grant_copy_segment_t}.
 * Reusable: {@link #clear()} and fill again, so the data path allocates nothing.
 */
public final class GrantCopyBatch {

    private final int[] refs;
    private final int[] pageOffsets;
    private final int[] domids;
    private final ByteBuffer[] locals;
    private final int[] localOffsets;
    private final int[] lengths;
    private final boolean[] toGuest;
    private final short[] statuses;
    private int count;

    /** A batch of at most {@code capacity} segments. */
    public GrantCopyBatch(int capacity) {
        refs = new int[capacity];
        pageOffsets = new int[capacity];
        domids = new int[capacity];
        locals = new ByteBuffer[capacity];
        localOffsets = new int[capacity];
        lengths = new int[capacity];
        toGuest = new boolean[capacity];
        statuses = new short[capacity];
    }

    /**
     * Adds a segment copying {@code length} bytes between the granted page ({@code domid}, {@code ref}) at
     * {@code pageOffset} and {@code local} at {@code localOffset}; {@code toGuest} says which way.
     *
     * @return the segment's index, for {@link #status(int)}
     * @throws IllegalStateException when the batch is full
     */
    public int add(int domid, int ref, int pageOffset, ByteBuffer local, int localOffset, int length, boolean toGuest) {
        if (count == refs.length) {
            throw new IllegalStateException("grant copy batch full at " + count + " segments");
        }
        int i = count++;
        domids[i] = domid;
        refs[i] = ref;
        pageOffsets[i] = pageOffset;
        locals[i] = local;
        localOffsets[i] = localOffset;
        lengths[i] = length;
        this.toGuest[i] = toGuest;
        statuses[i] = GrantStatus.OKAY;
        return i;
    }

    /** Empties the batch. */
    public void clear() {
        java.util.Arrays.fill(locals, 0, count, null);
        count = 0;
    }

    public int size() {
        return count;
    }

    public int domid(int i) {
        return domids[i];
    }

    public int ref(int i) {
        return refs[i];
    }

    public int pageOffset(int i) {
        return pageOffsets[i];
    }

    public ByteBuffer local(int i) {
        return locals[i];
    }

    public int localOffset(int i) {
        return localOffsets[i];
    }

    public int length(int i) {
        return lengths[i];
    }

    public boolean toGuest(int i) {
        return toGuest[i];
    }

    /** The {@link GrantStatus} of segment {@code i} after the copy. */
    public short status(int i) {
        return statuses[i];
    }

    /** Set by the provider after the copy. */
    public void status(int i, short status) {
        statuses[i] = status;
    }
}
