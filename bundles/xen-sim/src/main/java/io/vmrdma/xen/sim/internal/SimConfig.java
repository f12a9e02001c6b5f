package io.vmrdma.xen.sim.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(
        name = "vmrdma Xen access: simulated hypervisor",
        description = "A simulated Xen: guest domains as processes with shared-memory files, grant tables, event "
                + "channels and a xenstored on Unix sockets. Stopping it ends every guest it runs.")
@interface SimConfig {

    @AttributeDefinition(name = "State directory",
            description = "Where domain files and sockets live; this instance uses <dir>/hv-<pid>")
    String stateDirectory() default SimSettings.DEFAULT_STATE_DIRECTORY;

    @AttributeDefinition(name = "dom0 memory", description = "Bytes of dom0 memory guests can be granted")
    long dom0MemoryBytes() default 16L << 20;

    @AttributeDefinition(name = "Largest guest", description = "Most memory one guest may have, in bytes")
    long maxDomainMemoryBytes() default 4L << 30;

    @AttributeDefinition(name = "Grant frames per domain",
            description = "Xen's max_grant_frames: 512 grant entries per frame (64 frames: 128 MiB of grants)")
    int maxGrantFrames() default 64;

    @AttributeDefinition(name = "Maptrack frames per domain",
            description = "Xen's max_maptrack_frames: 256 simultaneous grant maps per frame")
    int maxMaptrackFrames() default 1024;

    @AttributeDefinition(name = "gntalloc limit",
            description = "Pages a guest may share at once (Linux gntalloc's module parameter 'limit')")
    int gntallocLimit() default 1024;

    @AttributeDefinition(name = "Event channels per guest",
            description = "Xen's max_event_channels for a guest (ports 1..N)")
    int maxEventChannels() default 1023;

    @AttributeDefinition(name = "XenStore nodes per domain", description = "xenstored -E")
    int xenstoreNodesPerDomain() default 1000;

    @AttributeDefinition(name = "XenStore node size", description = "xenstored -S: bytes of one node's value")
    int xenstoreMaxNodeBytes() default 2048;

    @AttributeDefinition(name = "XenStore watches per connection", description = "xenstored -W")
    int xenstoreWatchesPerConnection() default 128;

    @AttributeDefinition(name = "XenStore transactions per connection", description = "xenstored -t")
    int xenstoreTransactionsPerConnection() default 10;

    @AttributeDefinition(name = "Guest shutdown grace",
            description = "Milliseconds a guest gets to power off before it is killed")
    long guestShutdownMillis() default 3000;
}
