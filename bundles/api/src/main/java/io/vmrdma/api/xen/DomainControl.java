package io.vmrdma.api.xen;

import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The toolstack's view of a hypervisor, as {@code xl create / destroy / list}: creates and destroys guest
 * domains. Provided beside {@link Hypervisor} by hypervisors that let dom0 manage domains (the simulator today).
 *
 * <p>Since 0.2.0 of this package.
 */
@ProviderType
public interface DomainControl {

    /**
     * Creates a domain with {@code memoryBytes} of memory (a whole number of 4096-byte pages) and returns its
     * domid. The domain exists, with its XenStore home {@code /local/domain/<domid>}, but runs nothing until
     * {@link #start}.
     *
     * @throws XenException EEXIST when a live domain has this name; EINVAL for an empty name or a bad size;
     *                      ENOSPC when no domid or memory is left
     */
    int create(String name, long memoryBytes) throws XenException;

    /**
     * Boots a created domain by running {@code command} as its guest: a separate OS process that finds its
     * domain through the environment (the simulator's ABI says how). When that process ends, the domain is
     * destroyed, as when a guest shuts down.
     *
     * @return the guest process's pid
     * @throws XenException ESRCH for an unknown domain; EBUSY when it already runs; EIO when the command cannot start
     */
    long start(int domid, List<String> command) throws XenException;

    /**
     * Destroys a domain: its guest process is ended, its event channels closed, its XenStore home removed, and
     * its memory released once no other domain still maps its grants (as Xen keeps a dying domain until then).
     *
     * @throws XenException ESRCH for an unknown domain, EPERM for dom0
     */
    void destroy(int domid) throws XenException;

    /** Every live domain, dom0 first, ordered by domid. */
    List<DomainInfo> list();

    /** One domain as {@code xl list} shows it. */
    record DomainInfo(int domid, String name, long memoryBytes, boolean running) {
    }
}
