package io.vmrdma.api.xen;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Access to one hypervisor from one domain: dom0 for the engine, a guest domain for the guest library.
 * Each {@code open*} call returns a new handle, as the C libraries' {@code *_open} do; handles are independent
 * and each is closed on its own.
 */
@ProviderType
public interface Hypervisor {

    /** Service property with the value of {@link #kind()}. */
    String KIND_PROPERTY = "vmrdma.xen.kind";

    /** The size of a Xen page and of every grant. */
    int PAGE_SIZE = 4096;

    /** {@code "sim"} for the simulated hypervisor, {@code "native"} for real Xen. */
    String kind();

    /** The domain this access acts as (0 in dom0). */
    int selfDomid();

    /** A grant-mapping handle, as {@code xengnttab_open}. */
    GrantMapper openGrantMapper() throws XenException;

    /** A page-sharing handle, as {@code xengntshr_open}. */
    GrantSharer openGrantSharer() throws XenException;

    /** An event-channel handle, as {@code xenevtchn_open}. */
    EventChannel openEventChannel() throws XenException;

    /** A XenStore connection, as {@code xs_open}. */
    XenStore openXenStore() throws XenException;

    /**
     * Has {@code handler} take part in this domain's suspends (a guest's drivers do); closing the result ends that.
     * A hypervisor access that never suspends (dom0's, or one that cannot migrate the guest) ignores it.
     */
    default AutoCloseable onSuspend(SuspendHandler handler) {
        return () -> {
        };
    }
}
