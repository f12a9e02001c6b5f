package io.vmrdma.cluster.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The cluster member's configuration ({@code etc/io.vmrdma.cluster.cfg}), checked into {@link ClusterSettings}. */
@ObjectClassDefinition(
        name = "vmrdma cluster",
        description = "This dom0 as a member of a cluster of dom0s that share their vmrdma settings")
@interface ClusterConfig {

    @AttributeDefinition(name = "Cluster name",
            description = "Members with another name never join this cluster")
    String name() default "vmrdma";

    @AttributeDefinition(name = "Members",
            description = "Every member's address, ADDRESS or ADDRESS:PORT; the same list on every member. A majority of "
                    + "these must see each other before a setting may change")
    String[] members();

    @AttributeDefinition(name = "Bind address",
            description = "This member's own address, one of the members: the only address the cluster listens on")
    String bindAddress();

    @AttributeDefinition(name = "Port", min = "1", max = "65535")
    int port() default 5701;

    @AttributeDefinition(name = "Member timeout in seconds",
            description = "A member silent this long is taken for gone", min = "2", max = "300")
    int memberTimeoutSeconds() default 6;

    @AttributeDefinition(name = "State directory",
            description = "Where this node keeps its member key and the node id the cluster gave it; empty: "
                    + "state/cluster in the Karaf base directory (not data/, which a clean start wipes)")
    String stateDirectory() default "";
}
