package io.vmrdma.api.sched;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A rate limiter that wraps whichever ordering {@link SchedulingPolicy} is active: it decides <em>when</em> a VM
 * may send (its rate cap and burst from {@link VmSettings}), the ordering policy still decides <em>who</em> sends
 * among the VMs that may. It is switched on and off by configuration ({@code io.vmrdma.sched}, {@code shaper}),
 * never chosen instead of an ordering policy.
 *
 * <p>Registered as an OSGi service by its own bundle with {@link SchedulingPolicy#NAME_PROPERTY} set to
 * {@link #NAME}. The engine calls {@link #wrap} whenever it builds a scheduler while the shaper is on, and the
 * returned scheduler takes the ordering scheduler's place; time and threading rules are those of
 * {@link Scheduler}.
 */
@ConsumerType
public interface TransmitShaper {

    /** The name operators use in the console and in configuration. */
    String NAME = "shaper";

    /** One line for the console. */
    String description();

    /**
     * A scheduler that offers {@code ordering} only the queues that are within their rate, for queues whose
     * {@link TransmitQueue#slot() slot} is below {@code capacity}. It owns {@code ordering} from now on: the engine
     * calls only the returned scheduler. A queue over its cap is kept from {@code ordering} (reported
     * {@link Scheduler#idle idle} to it) until its tokens are back, and {@link Scheduler#nextEligibleNanos} tells
     * the engine when that is.
     */
    Scheduler wrap(Scheduler ordering, int capacity);
}
