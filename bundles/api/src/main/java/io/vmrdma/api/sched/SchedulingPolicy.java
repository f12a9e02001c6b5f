package io.vmrdma.api.sched;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * An ordering policy, registered as an OSGi service by its own bundle with the {@link #NAME_PROPERTY} property.
 * Installing a policy bundle makes it available; configuration ({@code io.vmrdma.sched}) or the console decides
 * which one is active.
 */
@ConsumerType
public interface SchedulingPolicy {

    /** Service property carrying {@link #name()}. */
    String NAME_PROPERTY = "vmrdma.policy";

    /** The name operators use: {@code rr}, {@code drr}, {@code priority}. */
    String name();

    /** One line for the console. */
    String description();

    /**
     * A fresh scheduler for one engine, for queues whose {@link TransmitQueue#slot() slot} is below
     * {@code capacity}. When the engine switches policies, it builds the new scheduler, reports every backlogged
     * queue to it, and then drops the old one.
     */
    Scheduler newScheduler(int capacity);
}
