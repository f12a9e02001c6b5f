package io.vmrdma.xen.jna.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import com.sun.jna.Pointer;
import io.vmrdma.api.xen.GrantMapping;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.XenException;

/**
 * Pages mapped by {@code xengnttab_map_domain_grant_refs}. A read-only mapping is handed out as a read-only
 * buffer: a Java write then throws instead of faulting on the PROT_READ page and killing the JVM.
 */
final class NativeGrantMapping implements GrantMapping {

    private final NativeGrantMapper mapper;
    private final Pointer address;
    private final int domid;
    private final int pageCount;
    private final boolean writable;
    private final ByteBuffer buffer;

    NativeGrantMapping(NativeGrantMapper mapper, Pointer address, int domid, int pageCount, boolean writable) {
        this.mapper = mapper;
        this.address = address;
        this.domid = domid;
        this.pageCount = pageCount;
        this.writable = writable;
        ByteBuffer pages = address.getByteBuffer(0, (long) pageCount * Hypervisor.PAGE_SIZE);
        this.buffer = (writable ? pages : pages.asReadOnlyBuffer()).order(ByteOrder.nativeOrder());
    }

    Pointer address() {
        return address;
    }

    @Override
    public ByteBuffer buffer() {
        return buffer;
    }

    @Override
    public int domid() {
        return domid;
    }

    @Override
    public int pageCount() {
        return pageCount;
    }

    @Override
    public boolean writable() {
        return writable;
    }

    @Override
    public void close() throws XenException {
        mapper.unmap(this);
    }
}
