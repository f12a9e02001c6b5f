package io.vmrdma.xen.jna.internal;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;

import com.sun.jna.Pointer;
import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.SharedPages;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;

/** A {@code xengntshr_handle} over {@code /dev/xen/gntalloc}; close unshares what is still shared. */
final class NativeGrantSharer implements GrantSharer {

    private final LibXenGnttab lib;
    private final Set<NativeSharedPages> live = new HashSet<>();
    private Pointer handle;

    private NativeGrantSharer(LibXenGnttab lib, Pointer handle) {
        this.lib = lib;
        this.handle = handle;
    }

    static NativeGrantSharer open() throws XenException {
        LibXenGnttab lib = XenLibraries.gnttab("xengntshr_open");
        Pointer handle = lib.xengntshr_open(null, 0);
        if (handle == null) {
            throw XenLibraries.openFailure("xengntshr_open", "/dev/xen/gntalloc");
        }
        return new NativeGrantSharer(lib, handle);
    }

    @Override
    public synchronized SharedPages sharePages(int domid, int count, boolean writable) throws XenException {
        if (handle == null) {
            throw XenLibraries.closed("xengntshr_share_pages");
        }
        if (count <= 0 || domid < 0 || domid > 0xFFFF) {
            throw new XenException("xengntshr_share_pages", XenErrno.EINVAL, count + " pages for domain " + domid);
        }
        int[] refs = new int[count];
        Pointer address = lib.xengntshr_share_pages(handle, domid, count, refs, writable ? 1 : 0);
        if (address == null) {
            throw XenLibraries.failure("xengntshr_share_pages", count + " pages for domain " + domid);
        }
        NativeSharedPages pages = new NativeSharedPages(this, address, refs);
        live.add(pages);
        return pages;
    }

    synchronized void unshare(NativeSharedPages pages) throws XenException {
        if (!live.remove(pages)) {
            return;
        }
        if (lib.xengntshr_unshare(handle, pages.address(), pages.pageCount()) == -1) {
            throw XenLibraries.failure("xengntshr_unshare", pages.pageCount() + " pages");
        }
    }

    @Override
    public synchronized void close() throws XenException {
        if (handle == null) {
            return;
        }
        XenException first = null;
        for (NativeSharedPages pages : new ArrayList<>(live)) {
            try {
                unshare(pages);
            } catch (XenException e) {
                first = first == null ? e : first;
            }
        }
        live.clear();
        int rc = lib.xengntshr_close(handle);
        handle = null;
        if (rc == -1 && first == null) {
            first = XenLibraries.failure("xengntshr_close", "");
        }
        if (first != null) {
            throw first;
        }
    }
}
