package io.vmrdma.sched.drr.internal;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.SchedulingPolicy;
import org.osgi.service.component.annotations.Component;

/** Policy {@code drr}: the VMs with work share the link by bytes in proportion to their weights. */
@Component(service = SchedulingPolicy.class, property = SchedulingPolicy.NAME_PROPERTY + "=drr")
public final class DeficitRoundRobinPolicy implements SchedulingPolicy {

    @Override
    public String name() {
        return "drr";
    }

    @Override
    public String description() {
        return "weighted deficit round-robin: byte shares in proportion to each VM's weight";
    }

    @Override
    public Scheduler newScheduler(int capacity) {
        return new DeficitRoundRobinScheduler(capacity);
    }
}
