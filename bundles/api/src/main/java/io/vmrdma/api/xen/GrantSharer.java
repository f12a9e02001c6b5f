package io.vmrdma.api.xen;

/**
 * The granting side, as {@code libxengntshr}: a guest shares pages it allocates here (never arbitrary memory)
 * with another domain. Bounded by gntalloc's page limit.
 */
public interface GrantSharer extends AutoCloseable {

    /**
     * Allocates {@code count} zeroed pages and grants each to {@code domid}.
     *
     * @throws XenException ENOSPC or ENOMEM when the limit is reached; nothing is allocated then
     */
    SharedPages sharePages(int domid, int count, boolean writable) throws XenException;

    /** Closes the handle; pages still mapped by the peer stay granted until it unmaps them. */
    @Override
    void close() throws XenException;
}
