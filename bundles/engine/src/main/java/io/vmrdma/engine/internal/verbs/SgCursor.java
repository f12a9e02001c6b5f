package io.vmrdma.engine.internal.verbs;

import java.nio.ByteBuffer;

import io.vmrdma.api.verbs.ScatterGatherList;
import io.vmrdma.engine.internal.transport.PayloadSpan;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A position in a list of checked (region, offset, length) pieces: the local scatter/gather list of a request, a
 * responder's receive buffers, or one remote range. {@link #copy} moves bytes between two cursors with one memory
 * copy per contiguous piece and no allocation.
 */
final class SgCursor {

    private final Region[] regions = new Region[ScatterGatherList.MAX_SGE];
    private final int[] offsets = new int[ScatterGatherList.MAX_SGE];
    private final int[] lengths = new int[ScatterGatherList.MAX_SGE];
    private int count;
    private int index;
    private int consumed;

    void reset() {
        java.util.Arrays.fill(regions, 0, count, null);
        count = 0;
        index = 0;
        consumed = 0;
    }

    /** Appends a piece that has passed its region's checks. */
    void add(Region region, int offset, int length) {
        regions[count] = region;
        offsets[count] = offset;
        lengths[count] = length;
        count++;
    }

    /** Whether every region still to be touched is still registered. */
    boolean allLive() {
        for (int i = index; i < count; i++) {
            if (!regions[i].isLive()) {
                return false;
            }
        }
        return true;
    }

    /** Moves up to {@code max} bytes from {@code src} to {@code dst}; returns how many moved. */
    static long copy(SgCursor src, SgCursor dst, long max) {
        long moved = 0;
        while (moved < max && src.skipEmpty() && dst.skipEmpty()) {
            int n = (int) Math.min(Math.min(src.available(), dst.available()), max - moved);
            dst.regions[dst.index].memory().putBytes(dst.position(), src.regions[src.index].memory(),
                    src.position(), n);
            src.advance(n);
            dst.advance(n);
            moved += n;
        }
        return moved;
    }

    /** Moves the position forward by {@code bytes}, as if they had been copied. */
    void skip(long bytes) {
        long left = bytes;
        while (left > 0 && skipEmpty()) {
            int n = (int) Math.min(available(), left);
            advance(n);
            left -= n;
        }
    }

    /** Copies the next {@code n} bytes out to {@code target} at {@code at}; returns how many there were. */
    int copyOut(org.agrona.MutableDirectBuffer target, int at, int n) {
        int moved = 0;
        while (moved < n && skipEmpty()) {
            int step = Math.min(available(), n - moved);
            target.putBytes(at + moved, regions[index].memory(), position(), step);
            advance(step);
            moved += step;
        }
        return moved;
    }

    /**
     * Points {@code span} at the next {@code n} bytes and moves past them, when they lie in one piece over a direct
     * buffer; false otherwise, the position unchanged.
     */
    boolean spanOut(int n, PayloadSpan span) {
        if (!skipEmpty() || available() < n) {
            return false;
        }
        UnsafeBuffer memory = regions[index].memory();
        ByteBuffer direct = memory.byteBuffer();
        if (direct == null || !direct.isDirect()) {
            return false;
        }
        span.set(direct, memory.wrapAdjustment() + position());
        advance(n);
        return true;
    }

    /** Copies {@code n} bytes from {@code source} at {@code at} in at the position; returns how many fitted. */
    int copyIn(org.agrona.DirectBuffer source, int at, int n) {
        int moved = 0;
        while (moved < n && skipEmpty()) {
            int step = Math.min(available(), n - moved);
            regions[index].memory().putBytes(position(), source, at + moved, step);
            advance(step);
            moved += step;
        }
        return moved;
    }

    private boolean skipEmpty() {
        while (index < count && consumed == lengths[index]) {
            index++;
            consumed = 0;
        }
        return index < count;
    }

    private int available() {
        return lengths[index] - consumed;
    }

    private int position() {
        return offsets[index] + consumed;
    }

    private void advance(int n) {
        consumed += n;
    }
}
