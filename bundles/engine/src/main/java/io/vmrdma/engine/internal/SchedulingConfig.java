package io.vmrdma.engine.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(
        name = "vmrdma scheduling",
        description = "Which per-VM scheduler policy shares the wire")
@interface SchedulingConfig {

    @AttributeDefinition(
            name = "Policy",
            description = "Name of the ordering policy to activate (rr, drr, priority); its bundle must be installed")
    String policy() default "rr";
}
