package io.vmrdma.sched.shaper.internal;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.SchedulingPolicy;
import io.vmrdma.api.sched.TransmitShaper;
import org.osgi.service.component.annotations.Component;

/** The {@code shaper}: a token bucket per VM (its rate cap and burst) around the ordering policy in charge. */
@Component(service = TransmitShaper.class, property = SchedulingPolicy.NAME_PROPERTY + "=" + TransmitShaper.NAME)
public final class TokenBucketShaper implements TransmitShaper {

    @Override
    public String description() {
        return "token-bucket rate cap and burst per VM, around the ordering policy in charge";
    }

    @Override
    public Scheduler wrap(Scheduler ordering, int capacity) {
        return new ShapingScheduler(ordering, capacity);
    }
}
