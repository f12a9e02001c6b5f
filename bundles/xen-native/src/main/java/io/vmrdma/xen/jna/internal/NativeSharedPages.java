package io.vmrdma.xen.jna.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import com.sun.jna.Pointer;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.SharedPages;
import io.vmrdma.api.xen.XenException;

/** Pages allocated and granted by {@code xengntshr_share_pages}; the refs are what the library filled in. */
final class NativeSharedPages implements SharedPages {

    private final NativeGrantSharer sharer;
    private final Pointer address;
    private final int[] refs;
    private final ByteBuffer buffer;

    NativeSharedPages(NativeGrantSharer sharer, Pointer address, int[] refs) {
        this.sharer = sharer;
        this.address = address;
        this.refs = refs;
        this.buffer = address.getByteBuffer(0, (long) refs.length * Hypervisor.PAGE_SIZE)
                .order(ByteOrder.nativeOrder());
    }

    Pointer address() {
        return address;
    }

    @Override
    public ByteBuffer buffer() {
        return buffer;
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
    public void close() throws XenException {
        sharer.unshare(this);
    }
}
