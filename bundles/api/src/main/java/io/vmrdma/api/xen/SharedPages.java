package io.vmrdma.api.xen;

import java.nio.ByteBuffer;

/** Fresh zeroed pages this domain granted to another, as returned by {@code xengntshr_share_pages}. */
public interface SharedPages extends AutoCloseable {

    /** The pages as one direct buffer of {@link #pageCount()} × 4096 bytes, in native byte order. */
    ByteBuffer buffer();

    /** How many pages were shared. */
    int pageCount();

    /** The grant reference of page {@code index}, to hand to the other domain. */
    int ref(int index);

    /** Ends the grants and frees the pages, as {@code xengntshr_unshare}; the buffer must not be touched after. */
    @Override
    void close() throws XenException;
}
