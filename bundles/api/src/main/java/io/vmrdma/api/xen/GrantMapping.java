package io.vmrdma.api.xen;

import java.nio.ByteBuffer;

/**
 * Pages of another domain mapped into this one, as returned by {@code xengnttab_map_*}. While mapped, Xen keeps
 * the granting domain from revoking the grants. {@link #close()} unmaps; the buffer must not be touched after.
 */
public interface GrantMapping extends AutoCloseable {

    /** The mapped pages as one direct buffer of {@link #pageCount()} × 4096 bytes, in native byte order. */
    ByteBuffer buffer();

    /** The domain that granted the pages. */
    int domid();

    /** How many pages are mapped. */
    int pageCount();

    /** Whether the mapping may be written. */
    boolean writable();

    /** Unmaps every page of this mapping, as {@code xengnttab_unmap}; idempotent. */
    @Override
    void close() throws XenException;
}
