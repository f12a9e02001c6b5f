package io.vmrdma.engine.internal.sched;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(
        name = "vmrdma scheduling",
        description = "Which per-VM scheduler policy shares the wire, and whether the shaper caps rates")
@interface SchedulingConfig {

    @AttributeDefinition(
            name = "Policy",
            description = "Name of the ordering policy to activate (rr, drr, priority); its bundle must be installed,"
                    + " else the engine's built-in round-robin stands in")
    String policy() default "rr";

    @AttributeDefinition(
            name = "Shaper",
            description = "Whether the shaper (per-VM rate caps and bursts) wraps the ordering policy; it shapes only"
                    + " while its bundle is installed")
    boolean shaper() default false;
}
