package io.vmrdma.xen.jna.internal;

import com.sun.jna.Library;
import com.sun.jna.Pointer;

/**
 * {@code libxengnttab.so.1} (package libxengnttab1): the gnttab calls (consuming grants, {@code /dev/xen/gntdev})
 * and the gntshr calls (sharing pages, {@code /dev/xen/gntalloc}), which live in the same library.
 *
 * <p>No method declares {@code LastErrorException}: JNA would throw whenever errno is non-zero, and
 * {@code xengnttab_set_max_grants} succeeds leaving ENOTTY. Callers test the documented failure value (NULL, -1)
 * and only then read {@code Native.getLastError()}.
 */
interface LibXenGnttab extends Library {

    String SONAME = "libxengnttab.so.1";

    Pointer xengnttab_open(Pointer logger, int openFlags);

    int xengnttab_close(Pointer xgt);

    Pointer xengnttab_map_domain_grant_refs(Pointer xgt, int count, int domid, int[] refs, int prot);

    int xengnttab_unmap(Pointer xgt, Pointer startAddress, int count);

    int xengnttab_set_max_grants(Pointer xgt, int nrGrants);

    int xengnttab_grant_copy(Pointer xgt, int count, Pointer segments);

    Pointer xengntshr_open(Pointer logger, int openFlags);

    int xengntshr_close(Pointer xgs);

    Pointer xengntshr_share_pages(Pointer xgs, int domid, int count, int[] refs, int writable);

    int xengntshr_unshare(Pointer xgs, Pointer startAddress, int count);
}
