package io.vmrdma.xen.sim.internal.abi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.SharedPages;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.xen.sim.guest.SimAbi;

/**
 * A guest process's {@code xengntshr} handle: its own connection to {@code hypercall.sock}, through which the
 * simulator's allocator of the domain grants pages. The pages are seen through this process's mapping of the
 * domain's memory. Closing the handle (or the process dying) ends every share it still holds.
 */
public final class GuestGrantSharer implements GrantSharer {

    private static final String SHARE = "xengntshr_share_pages";

    private HypercallChannel channel;
    private final PageFile memory;
    /** The shares this handle holds: what it takes back on the new host after a move. */
    private final java.util.Set<Shared> live = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public GuestGrantSharer(HypercallChannel channel, PageFile memory) {
        this.channel = channel;
        this.memory = memory;
    }

    @Override
    public SharedPages sharePages(int domid, int count, boolean writable) throws XenException {
        if (count <= 0 || count > SimAbi.MAX_MAP_REFS) {
            throw new XenException(SHARE, XenErrno.EINVAL, "count " + count);
        }
        ByteBuffer request = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        request.putInt(domid).putInt(writable ? 1 : 0).putInt(count).flip();
        ByteBuffer reply = channel().call(SHARE, SimAbi.OP_GNTALLOC_SHARE, request);
        int firstFrame = reply.getInt(0);
        if (reply.capacity() != 4 * (1 + count) || (long) firstFrame + count > memory.pages()) {
            throw new XenException(SHARE, XenErrno.EIO, "malformed share reply");
        }
        int[] refs = new int[count];
        for (int i = 0; i < count; i++) {
            refs[i] = reply.getInt(4 * (1 + i));
        }
        ByteBuffer pages = memory.whole().buffer((long) firstFrame * PageFile.PAGE, count * PageFile.PAGE);
        Shared shared = new Shared(pages, refs, firstFrame);
        live.add(shared);
        return shared;
    }

    /**
     * After the domain moved: takes back every share of this handle through {@code hypercall}, a connection to the new
     * host, whose copy of the grant table has them as they were ({@link SimAbi#OP_GNTALLOC_RECLAIM}); the buffers
     * handed out stay valid, the guest's memory having been remapped in place.
     *
     * @throws XenException when the new host does not have one of them (the handle then keeps the old connection)
     */
    public synchronized void rebind(HypercallChannel hypercall) throws XenException {
        for (Shared s : live) {
            ByteBuffer request = ByteBuffer.allocate(8 + 4 * s.refs.length).order(ByteOrder.LITTLE_ENDIAN);
            request.putInt(s.firstFrame).putInt(s.refs.length);
            for (int ref : s.refs) {
                request.putInt(ref);
            }
            hypercall.call("xengntshr_reclaim", SimAbi.OP_GNTALLOC_RECLAIM, request.flip());
        }
        HypercallChannel old = channel;
        channel = hypercall;
        old.close();
    }

    private synchronized HypercallChannel channel() {
        return channel;
    }

    @Override
    public void close() {
        channel().close();
    }

    /** Pages of one share call. */
    private final class Shared implements SharedPages {
        private final ByteBuffer pages;
        private final int[] refs;
        private final int firstFrame;
        private boolean closed;

        Shared(ByteBuffer pages, int[] refs, int firstFrame) {
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

        @Override
        public synchronized void close() throws XenException {
            if (!closed) {
                closed = true;
                live.remove(this);
                ByteBuffer request = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, firstFrame);
                channel().call("xengntshr_unshare", SimAbi.OP_GNTALLOC_UNSHARE, request);
            }
        }
    }
}
