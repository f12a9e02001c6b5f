package io.vmrdma.sched.rr.internal;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.SchedulingPolicy;
import org.osgi.service.component.annotations.Component;

/** Policy {@code rr}: every VM with work sends one frame in turn, whatever its settings. */
@Component(service = SchedulingPolicy.class, property = SchedulingPolicy.NAME_PROPERTY + "=rr")
public final class RoundRobinPolicy implements SchedulingPolicy {

    @Override
    public String name() {
        return "rr";
    }

    @Override
    public String description() {
        return "round-robin: one frame per VM with work, in turn";
    }

    @Override
    public Scheduler newScheduler(int capacity) {
        return new RoundRobinScheduler(capacity);
    }
}
