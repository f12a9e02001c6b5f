package io.vmrdma.xen.jna.internal;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import io.vmrdma.api.xen.GrantCopyBatch;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantMapping;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;

/**
 * A {@code xengnttab_handle}. Keeps its live mappings so {@link #close()} can unmap them: closing the gntdev fd
 * alone would leave the pages mapped in the JVM. Grant-copy segments are written into memory kept across calls,
 * after checking every local range against its buffer (a bad length from a guest must not make the kernel copy
 * over the JVM's heap).
 */
final class NativeGrantMapper implements GrantMapper {

    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;

    private final LibXenGnttab lib;
    private final Set<NativeGrantMapping> live = new HashSet<>();
    private Pointer handle;
    private Memory segments = new Memory(GrantCopySegment.SIZE * 16L);
    private ByteBuffer lastLocal;
    private long lastLocalAddress;

    private NativeGrantMapper(LibXenGnttab lib, Pointer handle) {
        this.lib = lib;
        this.handle = handle;
    }

    static NativeGrantMapper open() throws XenException {
        LibXenGnttab lib = XenLibraries.gnttab("xengnttab_open");
        Pointer handle = lib.xengnttab_open(null, 0);
        if (handle == null) {
            throw XenLibraries.openFailure("xengnttab_open", "/dev/xen/gntdev");
        }
        return new NativeGrantMapper(lib, handle);
    }

    @Override
    public synchronized GrantMapping mapDomainGrantRefs(int domid, int[] refs, boolean writable)
            throws XenException {
        Pointer h = open("xengnttab_map_domain_grant_refs");
        if (refs.length == 0 || domid < 0 || domid > 0xFFFF) {
            throw new XenException("xengnttab_map_domain_grant_refs", XenErrno.EINVAL,
                    refs.length + " refs of domain " + domid);
        }
        Pointer address = lib.xengnttab_map_domain_grant_refs(h, refs.length, domid, refs,
                writable ? PROT_READ | PROT_WRITE : PROT_READ);
        if (address == null) {
            throw XenLibraries.failure("xengnttab_map_domain_grant_refs",
                    refs.length + " refs of domain " + domid + (writable ? ", writable" : ", read-only"));
        }
        NativeGrantMapping mapping = new NativeGrantMapping(this, address, domid, refs.length, writable);
        live.add(mapping);
        return mapping;
    }

    /** Unmaps with the exact address and page count of the map call, as gntdev requires. */
    synchronized void unmap(NativeGrantMapping mapping) throws XenException {
        if (!live.remove(mapping)) {
            return;
        }
        if (lib.xengnttab_unmap(handle, mapping.address(), mapping.pageCount()) == -1) {
            throw XenLibraries.failure("xengnttab_unmap", mapping.pageCount() + " pages of domain " + mapping.domid());
        }
    }

    /** Linux (pv-ops) has no such ioctl: the library then returns 0 leaving ENOTTY, which is success. */
    @Override
    public synchronized void setMaxGrants(int count) throws XenException {
        Pointer h = open("xengnttab_set_max_grants");
        if (count < 0) {
            throw new XenException("xengnttab_set_max_grants", XenErrno.EINVAL, "count " + count);
        }
        if (lib.xengnttab_set_max_grants(h, count) == -1) {
            throw XenLibraries.failure("xengnttab_set_max_grants", "count " + count);
        }
    }

    @Override
    public synchronized void grantCopy(GrantCopyBatch batch) throws XenException {
        Pointer h = open("xengnttab_grant_copy");
        int n = batch.size();
        if ((long) n * GrantCopySegment.SIZE > segments.size()) {
            segments =
                    new Memory((long) Math.max(n, 2 * segments.size() / GrantCopySegment.SIZE) * GrantCopySegment.SIZE);
        }
        for (int i = 0; i < n; i++) {
            writeSegment(batch, i, i * (long) GrantCopySegment.SIZE);
        }
        // count 0 with NULL is the library's own probe; it succeeds wherever grant copy is supported.
        if (lib.xengnttab_grant_copy(h, n, n == 0 ? null : segments) == -1) {
            throw XenLibraries.failure("xengnttab_grant_copy", n + " segments");
        }
        for (int i = 0; i < n; i++) {
            batch.status(i, segments.getShort(i * (long) GrantCopySegment.SIZE + GrantCopySegment.STATUS));
        }
    }

    private void writeSegment(GrantCopyBatch batch, int i, long base) throws XenException {
        ByteBuffer local = batch.local(i);
        int length = batch.length(i);
        int localOffset = batch.localOffset(i);
        int pageOffset = batch.pageOffset(i);
        int domid = batch.domid(i);
        boolean toGuest = batch.toGuest(i);
        if (local == null || !local.isDirect() || (!toGuest && local.isReadOnly())
                || length < 0 || length > Hypervisor.PAGE_SIZE
                || localOffset < 0 || localOffset > local.capacity() - length
                || pageOffset < 0 || pageOffset > Hypervisor.PAGE_SIZE - length
                || domid < 0 || domid > 0xFFFF) {
            throw new XenException("xengnttab_grant_copy", XenErrno.EINVAL, "segment " + i
                    + ": needs a direct, writable-if-destination local buffer holding the range, and a range"
                    + " inside one page (length " + length + ", local offset " + localOffset
                    + ", page offset " + pageOffset + ", domain " + domid + ")");
        }
        long localSide = base + (toGuest ? GrantCopySegment.SOURCE : GrantCopySegment.DEST);
        long grantSide = base + (toGuest ? GrantCopySegment.DEST : GrantCopySegment.SOURCE);
        segments.setLong(localSide, address(local) + localOffset);
        segments.setInt(grantSide + GrantCopySegment.FOREIGN_REF, batch.ref(i));
        segments.setShort(grantSide + GrantCopySegment.FOREIGN_OFFSET, (short) pageOffset);
        segments.setShort(grantSide + GrantCopySegment.FOREIGN_DOMID, (short) domid);
        segments.setShort(base + GrantCopySegment.LEN, (short) length);
        segments.setShort(base + GrantCopySegment.FLAGS,
                toGuest ? GrantCopySegment.DEST_GREF : GrantCopySegment.SOURCE_GREF);
        segments.setShort(base + GrantCopySegment.STATUS, (short) 0);
    }

    /** A direct buffer's address; batches reuse the same few buffers, so one remembered entry saves the lookup. */
    private long address(ByteBuffer local) {
        if (local != lastLocal) {
            lastLocalAddress = Pointer.nativeValue(Native.getDirectBufferPointer(local));
            lastLocal = local;
        }
        return lastLocalAddress;
    }

    @Override
    public synchronized void close() throws XenException {
        if (handle == null) {
            return;
        }
        XenException first = null;
        for (NativeGrantMapping mapping : new ArrayList<>(live)) {
            try {
                unmap(mapping);
            } catch (XenException e) {
                first = first == null ? e : first;
            }
        }
        live.clear();
        lastLocal = null;
        int rc = lib.xengnttab_close(handle);
        handle = null;
        if (rc == -1 && first == null) {
            first = XenLibraries.failure("xengnttab_close", "");
        }
        if (first != null) {
            throw first;
        }
    }

    private Pointer open(String operation) throws XenException {
        if (handle == null) {
            throw XenLibraries.closed(operation);
        }
        return handle;
    }
}
