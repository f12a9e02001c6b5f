package io.vmrdma.engine.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(
        name = "vmrdma engine",
        description = "The RDMA protocol engine of this dom0")
@interface EngineConfig {

    @AttributeDefinition(
            name = "Node id",
            description = "This node's cluster-wide id, 0 to 65535; unique among the nodes of one cluster",
            min = "0", max = "65535")
    int nodeId() default 1;
}
