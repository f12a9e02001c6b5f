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

    private final HypercallChannel channel;
    private final PageFile memory;

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
        ByteBuffer reply = channel.call(SHARE, SimAbi.OP_GNTALLOC_SHARE, request);
        int firstFrame = reply.getInt(0);
        if (reply.capacity() != 4 * (1 + count) || (long) firstFrame + count > memory.pages()) {
            throw new XenException(SHARE, XenErrno.EIO, "malformed share reply");
        }
        int[] refs = new int[count];
        for (int i = 0; i < count; i++) {
            refs[i] = reply.getInt(4 * (1 + i));
        }
        ByteBuffer pages = memory.whole().buffer((long) firstFrame * PageFile.PAGE, count * PageFile.PAGE);
        return new Shared(pages, refs, firstFrame);
    }

    @Override
    public void close() {
        channel.close();
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
                ByteBuffer request = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, firstFrame);
                channel.call("xengntshr_unshare", SimAbi.OP_GNTALLOC_UNSHARE, request);
            }
        }
    }
}
