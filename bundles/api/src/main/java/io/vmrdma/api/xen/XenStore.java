package io.vmrdma.api.xen;

import java.util.List;

/**
 * A connection to XenStore, as {@code libxenstore}. Every call takes a transaction id, {@link #NO_TRANSACTION}
 * for none. The store applies the permissions of the domain this connection belongs to.
 */
public interface XenStore extends AutoCloseable {

    /** {@code XBT_NULL}: the call is not part of a transaction. */
    int NO_TRANSACTION = 0;

    /** The value of {@code path}; XenException ENOENT when it does not exist, EACCES when we may not read it. */
    byte[] read(int tx, String path) throws XenException;

    /** Writes {@code value} at {@code path}, creating missing parents. */
    void write(int tx, String path, byte[] value) throws XenException;

    /** Creates {@code path} (and missing parents) with an empty value; an existing node is left alone. */
    void mkdir(int tx, String path) throws XenException;

    /** Removes {@code path} and everything under it; a missing node is not an error. */
    void rm(int tx, String path) throws XenException;

    /** The names of the children of {@code path}. */
    List<String> directory(int tx, String path) throws XenException;

    /** The permission list of {@code path}, owner first. */
    List<XenStorePermission> getPermissions(int tx, String path) throws XenException;

    /** Replaces the permission list of {@code path}; only its owner (or dom0) may. */
    void setPermissions(int tx, String path, List<XenStorePermission> permissions) throws XenException;

    /** Starts a transaction and returns its id. */
    int transactionStart() throws XenException;

    /**
     * Ends a transaction: commits it, or aborts it when {@code abort}.
     *
     * @return false when the commit conflicted with another change (EAGAIN): nothing was applied; start again
     */
    boolean transactionEnd(int tx, boolean abort) throws XenException;

    /**
     * Watches {@code path} and everything under it. The watch fires once right away, then on every change;
     * spurious fires are allowed, so a watcher re-reads what it cares about.
     */
    void watch(String path, String token) throws XenException;

    /** Removes a watch set with the same path and token. */
    void unwatch(String path, String token) throws XenException;

    /** Waits up to {@code timeoutNanos} for a watch to fire; null on timeout; 0 polls. */
    WatchEvent readWatch(long timeoutNanos) throws XenException;

    /**
     * A file descriptor that has something to read while a fired watch waits for {@link #readWatch}, as
     * {@code xs_fileno}: for a caller that sleeps on it beside other descriptors, then reads the events with
     * {@code readWatch(0)}, which keeps it right (the caller only polls it; it may be readable once more than needed).
     * -1 when there is none (the default). Since 0.6.0 of this package.
     */
    default int watchFd() {
        return -1;
    }

    /** The path of a domain's home directory, {@code /local/domain/<domid>}. */
    default String domainPath(int domid) {
        return "/local/domain/" + domid;
    }

    /** Closes the connection; its watches and open transactions go with it. */
    @Override
    void close() throws XenException;

    /** A fired watch: the path that changed and the token given to {@link #watch}. */
    record WatchEvent(String path, String token) {
    }
}
