package io.vmrdma.api.sched;

import org.osgi.annotation.versioning.ProviderType;

/** The engine's transmit queue of one VM, as a policy sees it. */
@ProviderType
public interface TransmitQueue {

    /**
     * A small dense number, unique among the queues of one scheduler and stable while the queue exists, below
     * the capacity the scheduler was made with: policies keep per-queue state in arrays indexed by it.
     */
    int slot();

    /** The VM's domain id. */
    int domid();

    /** The VM's domain name, the key of its settings. */
    String domainName();

    /** Bytes waiting in this queue now. */
    long backlogBytes();

    /** The VM's current settings. */
    VmSettings settings();
}
