package io.vmrdma.api.xen;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A guest driver's part in its domain's suspend and resume, as a xenbus frontend's {@code suspend} and
 * {@code resume} callbacks: the kernel calls every registered handler's {@link #suspend} before the domain suspends
 * (for a live migration), and {@link #resume} once it runs again.
 */
@ConsumerType
public interface SuspendHandler {

    /**
     * Quiesce: finish or stop what is in flight through the hypervisor and hold new work until {@link #resume}. Called
     * on the kernel's thread; a failure gives the suspend up (the domain runs on where it is).
     */
    void suspend() throws XenException;

    /**
     * The domain runs again: {@code moved} when on another host (event channels and grant maps of the old host are
     * gone, the driver reconnects to its backend there), else where it was (everything is as it was).
     */
    void resume(boolean moved);
}
