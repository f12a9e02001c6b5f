package io.vmrdma.sched.priority.internal;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.SchedulingPolicy;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Policy {@code priority}: the highest level with work sends; a starvation guard keeps a configured share of the
 * link for the lower levels while they have work. The guard applies live: schedulers read it at every decision.
 */
@Component(
        service = SchedulingPolicy.class,
        property = SchedulingPolicy.NAME_PROPERTY + "=priority",
        configurationPid = "io.vmrdma.sched.priority")
@Designate(ocd = PriorityConfig.class)
public final class StrictPriorityPolicy implements SchedulingPolicy {

    static final int DEFAULT_GUARD_PERCENT = 5;
    static final int MAX_GUARD_PERCENT = 50;

    private static final Logger LOG = LoggerFactory.getLogger(StrictPriorityPolicy.class);

    private volatile int guardPerMille = DEFAULT_GUARD_PERCENT * 10;

    @Activate
    @Modified
    void configure(PriorityConfig config) {
        guardPercent(config.starvationGuardPercent());
    }

    /** Sets the starvation guard; a value outside 0..50 is refused (logged) and the current one stays. */
    void guardPercent(int percent) {
        if (percent < 0 || percent > MAX_GUARD_PERCENT) {
            LOG.warn("refused starvationGuardPercent={}: it must be 0 to {}; keeping {}", percent, MAX_GUARD_PERCENT,
                    guardPerMille / 10);
            return;
        }
        guardPerMille = percent * 10;
    }

    int guardPerMille() {
        return guardPerMille;
    }

    @Override
    public String name() {
        return "priority";
    }

    @Override
    public String description() {
        return "strict priority levels 0 (highest) to 7, with a starvation guard of " + guardPerMille / 10
                + "% for lower levels";
    }

    @Override
    public Scheduler newScheduler(int capacity) {
        return new StrictPriorityScheduler(capacity, this);
    }
}
