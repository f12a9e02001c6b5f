package io.vmrdma.sched.priority.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(
        name = "vmrdma policy: strict priority",
        description = "Strict priority levels per VM (0 highest) with a starvation guard for the lower levels")
@interface PriorityConfig {

    @AttributeDefinition(
            name = "Starvation guard (%)",
            description = "The share of the link, in percent, that lower levels get together while they have work"
                    + " and a higher level is busy; 0 turns the guard off",
            min = "0", max = "50")
    int starvationGuardPercent() default StrictPriorityPolicy.DEFAULT_GUARD_PERCENT;
}
