package io.vmrdma.api.xen;

/** The consuming side of grant tables, as {@code libxengnttab}: map pages other domains granted to us, or copy. */
public interface GrantMapper extends AutoCloseable {

    /**
     * Maps {@code refs.length} grants of {@code domid} into one contiguous range, all or nothing, as
     * {@code xengnttab_map_domain_grant_refs}.
     *
     * @throws XenException EINVAL when a ref is out of range, not granted to us, read-only for a writable map,
     *                      or {@code refs} is empty; ESRCH or EINVAL for a domain that does not exist
     */
    GrantMapping mapDomainGrantRefs(int domid, int[] refs, boolean writable) throws XenException;

    /** Bounds how many grants this handle may map at once, as {@code xengnttab_set_max_grants}. */
    void setMaxGrants(int count) throws XenException;

    /**
     * Copies between granted pages and local buffers without mapping, as {@code xengnttab_grant_copy}. Each
     * segment gets its own {@link GrantStatus}; the call itself fails only when a segment is malformed.
     */
    void grantCopy(GrantCopyBatch batch) throws XenException;

    /** Closes the handle and releases every mapping still held through it. */
    @Override
    void close() throws XenException;
}
