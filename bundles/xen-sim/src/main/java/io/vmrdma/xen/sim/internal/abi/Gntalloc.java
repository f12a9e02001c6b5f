package io.vmrdma.xen.sim.internal.abi;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.SharedPages;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.xen.sim.guest.SimAbi;

/**
 * The granting half of a domain's kernel, as Linux's {@code gntalloc} driver: hands out zeroed pages of the
 * domain's own memory, each granted through an entry this domain writes into its grant table. One instance per
 * domain, held by the simulator; every {@link GrantSharer} handle of the domain, of whichever process, draws on it, so
 * the processes of one guest never get the same page or ref.
 *
 * <p>Pages of one call are adjacent in the memory file, so the caller sees one buffer. Revoking a grant the peer
 * still has mapped fails (Xen keeps GTF_reading / GTF_writing set); such grants wait on a deferred list, their
 * pages and refs unused, and are retried on every later share or unshare, as Linux retries them on a timer.
 */
public final class Gntalloc {

    private static final String SHARE = "xengntshr_share_pages";

    private final int selfDomid;
    private final PageFile memory;
    private final GrantTableView table;
    private final int limit;
    private final BitSet usedFrames = new BitSet();
    private final int[] freeRefs;
    private int freeRefCount;
    private int granted;
    private final List<int[]> deferred = new ArrayList<>();
    /**
     * After a move: the frame of each ref the guest had granted on the host it came from, waiting for the process that
     * shared it to take it back ({@link Sharer#reclaim}); the pages and refs stay in use meanwhile.
     */
    private final java.util.Map<Integer, Integer> unclaimed = new java.util.HashMap<>();

    /**
     * @param limit the most pages shared at once (gntalloc's module parameter {@code limit}, default 1024)
     */
    public Gntalloc(int selfDomid, PageFile memory, GrantTableView table, int limit) {
        this.selfDomid = selfDomid;
        this.memory = memory;
        this.table = table;
        this.limit = limit;
        int usable = Math.max(0, table.entries() - SimAbi.GNTTAB_NR_RESERVED_ENTRIES);
        freeRefs = new int[usable];
        // Lowest refs first, as Linux hands them out.
        for (int i = 0; i < usable; i++) {
            freeRefs[i] = table.entries() - 1 - i;
        }
        freeRefCount = usable;
    }

    /** A new sharing handle, as {@code xengntshr_open}. */
    public Sharer openSharer() {
        return new Sharer();
    }

    /** How many pages are shared now (not counting grants waiting for their peer to unmap). */
    public synchronized int granted() {
        return granted;
    }

    /** Grants waiting for their peer to unmap before their pages and refs are reused. */
    public synchronized int deferred() {
        return deferred.size();
    }

    /**
     * Retries the grants waiting for their peer to unmap, as Linux's timer does: called when a peer unmaps, so the
     * pages of a process that died while the backend still had them mapped come back once the backend lets go.
     */
    public synchronized void reclaimUnmapped() {
        retryDeferred();
    }

    /**
     * Takes over the grants of a guest that moved here: its grant table was copied, so every live entry's page and ref
     * are in use as they were, waiting for their process to reclaim them. Call once, before the guest runs.
     */
    public synchronized void adoptCopiedTable() {
        java.util.BitSet adopted = new java.util.BitSet();
        for (int ref = SimAbi.GNTTAB_NR_RESERVED_ENTRIES; ref < table.entries(); ref++) {
            int flags = GrantTableView.flags(table.word(ref));
            int frame = table.frame(ref);
            if ((flags & SimAbi.GTF_TYPE_MASK) == SimAbi.GTF_PERMIT_ACCESS && frame >= 0 && frame < memory.pages()
                    && !usedFrames.get(frame)) {
                usedFrames.set(frame);
                unclaimed.put(ref, frame);
                adopted.set(ref);
            }
        }
        int kept = 0;
        for (int i = 0; i < freeRefCount; i++) {
            if (!adopted.get(freeRefs[i])) {
                freeRefs[kept++] = freeRefs[i];
            }
        }
        freeRefCount = kept;
        granted += unclaimed.size();
    }

    /** Grants of a moved guest no process has reclaimed yet. */
    public synchronized int unclaimed() {
        return unclaimed.size();
    }

    synchronized Shared reclaim(Sharer owner, int firstFrame, int[] refs) throws XenException {
        for (int i = 0; i < refs.length; i++) {
            Integer frame = unclaimed.get(refs[i]);
            if (frame == null || frame != firstFrame + i) {
                throw new XenException("xengntshr_reclaim", XenErrno.EINVAL, "ref " + refs[i] + " is not frame "
                        + (firstFrame + i) + " of a share waiting to be reclaimed");
            }
        }
        for (int ref : refs) {
            unclaimed.remove(ref);
        }
        ByteBuffer pages = memory.whole().buffer((long) firstFrame * PageFile.PAGE, refs.length * PageFile.PAGE);
        return new Shared(owner, pages, refs.clone(), firstFrame);
    }

    synchronized Shared share(Sharer owner, int domid, int count, boolean writable) throws XenException {
        retryDeferred();
        if (count <= 0) {
            throw new XenException(SHARE, XenErrno.EINVAL, "count " + count);
        }
        if (domid < 0 || domid >= 0x7FF0) {
            throw new XenException(SHARE, XenErrno.EINVAL, "domid " + domid);
        }
        if (granted + count > limit) {
            throw new XenException(SHARE, XenErrno.ENOSPC,
                    count + " more pages would pass gntalloc's limit of " + limit + " (" + granted + " shared)");
        }
        if (count > freeRefCount) {
            throw new XenException(SHARE, XenErrno.ENOSPC, "grant table full");
        }
        int first = findRun(count);
        if (first < 0) {
            throw new XenException(SHARE, XenErrno.ENOMEM, "no run of " + count + " free pages in guest memory");
        }
        usedFrames.set(first, first + count);
        ByteBuffer pages = memory.whole().buffer((long) first * PageFile.PAGE, count * PageFile.PAGE);
        zero(pages);
        int[] refs = new int[count];
        for (int i = 0; i < count; i++) {
            refs[i] = freeRefs[--freeRefCount];
            table.grant(refs[i], domid, first + i, !writable);
        }
        granted += count;
        return new Shared(owner, pages, refs, first);
    }

    synchronized void unshare(Shared shared) {
        for (int i = 0; i < shared.refs.length; i++) {
            release(shared.refs[i], shared.firstFrame + i);
        }
        granted -= shared.refs.length;
        retryDeferred();
    }

    private void release(int ref, int frame) {
        if (table.revoke(ref)) {
            freeRefs[freeRefCount++] = ref;
            usedFrames.clear(frame);
        } else {
            deferred.add(new int[] {ref, frame});
        }
    }

    private void retryDeferred() {
        for (int i = deferred.size() - 1; i >= 0; i--) {
            int[] d = deferred.get(i);
            if (table.revoke(d[0])) {
                deferred.remove(i);
                freeRefs[freeRefCount++] = d[0];
                usedFrames.clear(d[1]);
            }
        }
    }

    private int findRun(int count) {
        long pages = memory.pages();
        int start = usedFrames.nextClearBit(0);
        while (start + (long) count <= pages) {
            int used = usedFrames.nextSetBit(start);
            if (used < 0 || used >= start + count) {
                return start;
            }
            start = usedFrames.nextClearBit(used);
        }
        return -1;
    }

    private static void zero(ByteBuffer pages) {
        for (int i = 0; i < pages.capacity(); i += 8) {
            pages.putLong(i, 0L);
        }
    }

    /** One {@code xengntshr} handle; closing it unshares what it still holds. */
    public final class Sharer implements GrantSharer {
        private final List<Shared> live = new ArrayList<>();
        private boolean closed;

        @Override
        public SharedPages sharePages(int domid, int count, boolean writable) throws XenException {
            synchronized (Gntalloc.this) {
                if (closed) {
                    throw new XenException(SHARE, XenErrno.EINVAL, "handle closed");
                }
                Shared s = share(this, domid, count, writable);
                live.add(s);
                return s;
            }
        }

        /**
         * Takes back one share this process held before its domain moved here ({@link Gntalloc#adoptCopiedTable}):
         * the pages and refs {@code firstFrame..} as they were, their contents untouched.
         */
        public Shared reclaim(int firstFrame, int[] refs) throws XenException {
            synchronized (Gntalloc.this) {
                if (closed) {
                    throw new XenException("xengntshr_reclaim", XenErrno.EINVAL, "handle closed");
                }
                Shared s = Gntalloc.this.reclaim(this, firstFrame, refs);
                live.add(s);
                return s;
            }
        }

        @Override
        public void close() {
            synchronized (Gntalloc.this) {
                closed = true;
                for (Shared s : new ArrayList<>(live)) {
                    s.close();
                }
            }
        }
    }

    /** Pages of one share call. */
    public final class Shared implements SharedPages {
        private final Sharer owner;
        private final ByteBuffer pages;
        private final int[] refs;
        private final int firstFrame;
        private boolean closed;

        Shared(Sharer owner, ByteBuffer pages, int[] refs, int firstFrame) {
            this.owner = owner;
            this.pages = pages;
            this.refs = refs;
            this.firstFrame = firstFrame;
        }

        @Override
        public ByteBuffer buffer() {
            return pages;
        }

        @Override
        public int pageCount() {
            return refs.length;
        }

        @Override
        public int ref(int index) {
            return refs[index];
        }

        /** The first page's frame number in the memory file (pages are adjacent). */
        public int firstFrame() {
            return firstFrame;
        }

        /** The domain that granted these pages. */
        public int granterDomid() {
            return selfDomid;
        }

        @Override
        public void close() {
            synchronized (Gntalloc.this) {
                if (!closed) {
                    closed = true;
                    owner.live.remove(this);
                    unshare(this);
                }
            }
        }
    }
}
