package io.vmrdma.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A guest domain (VM) known to this node.
 *
 * <p>Settings that outlive a reboot of the VM (partitions, scheduler weights, rate caps) are keyed by
 * {@link #name()}, which the toolstack keeps stable; the {@link #domid()} changes whenever the VM is recreated.
 */
@ProviderType
public interface Domain {

    /** The Xen domain id, unique on this host while the domain lives. */
    int domid();

    /** The domain's name as the toolstack knows it. */
    String name();

    /** Where the domain is in its life cycle. */
    DomainState state();

    /** The node this domain is migrating to while it migrates, or -1. Since 0.9.0. */
    default int migratingTo() {
        return -1;
    }

    /** The current value of one counter; reading never blocks the data path. */
    long counter(Counter counter);

    /**
     * Its open devices, by device number: one per guest process using vmrdma. Limits, counters and scheduling are
     * the domain's, shared by them all.
     */
    java.util.List<DeviceInfo> devices();
}
