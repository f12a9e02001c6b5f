package io.vmrdma.engine.internal.config;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The engine's configuration ({@code etc/io.vmrdma.engine.cfg}). Partitions are keys of their own in the same
 * file, {@code partition.<pkey> = <domain name>, ...} (see {@link PartitionConfig}), and so are peers,
 * {@code peer.<node id> = <link address>} (see {@link PeerConfig}). Which NIC binding the engine uses is
 * {@code nic} (see {@link NicChoice}).
 */
@ObjectClassDefinition(
        name = "vmrdma engine",
        description = "The RDMA protocol engine of this dom0")
public @interface EngineConfig {

    @AttributeDefinition(
            name = "Node id",
            description = "This node's cluster-wide id, 0 to 65535; unique among the nodes of one cluster",
            min = "0", max = "65535")
    int nodeId() default 1;

    @AttributeDefinition(
            name = "Node id confirmed by",
            description = "none: the node id above is in force at once (a standalone node). cluster: the cluster "
                    + "(feature vmrdma-cluster) assigns it, and the engine sends and answers nothing until the cluster "
                    + "confirms this node holds it; the cluster member sets this",
            options = {
                @org.osgi.service.metatype.annotations.Option(label = "none", value = "none"),
                @org.osgi.service.metatype.annotations.Option(label = "cluster", value = "cluster")
            })
    String nodeIdConfirmedBy() default "none";

    @AttributeDefinition(
            name = "NIC binding",
            description = "The NIC binding frames go through, by its vmrdma.nic.binding service property: loopback "
                    + "(in-memory, the embedded default), udp (feature vmrdma-nic-udp) or packet (feature "
                    + "vmrdma-nic-packet). Changing it rebinds at once; until the named binding is installed, no frame "
                    + "leaves this node and retry timers pause",
            options = {
                @org.osgi.service.metatype.annotations.Option(label = "loopback", value = "loopback"),
                @org.osgi.service.metatype.annotations.Option(label = "udp", value = "udp"),
                @org.osgi.service.metatype.annotations.Option(label = "packet", value = "packet")
            })
    String nic() default "loopback";

    @AttributeDefinition(name = "Devices per domain",
            description = "Guest processes of one domain using vmrdma at once, each with its own device", min = "1",
            max = "256")
    int maxDevices() default 16;

    @AttributeDefinition(name = "Protection domains per domain", min = "1")
    int maxPds() default 64;

    @AttributeDefinition(name = "Completion queues per domain", min = "1")
    int maxCqs() default 256;

    @AttributeDefinition(name = "Queue pairs per domain", min = "1")
    int maxQps() default 256;

    @AttributeDefinition(name = "Memory regions per domain", min = "1")
    int maxMrs() default 4096;

    @AttributeDefinition(name = "Registered bytes per domain",
            description = "About what Xen's default grant table lets a guest share", min = "1")
    long maxRegisteredBytes() default 128L << 20;

    @AttributeDefinition(name = "Completion queue depth", min = "1")
    int maxCqDepth() default 65536;

    @AttributeDefinition(name = "Work requests per queue", min = "1")
    int maxQpWr() default 16384;

    @AttributeDefinition(name = "Scatter/gather entries per request", min = "1", max = "16")
    int maxSge() default 16;

    @AttributeDefinition(name = "Largest message in bytes", min = "1", max = "2147483647")
    long maxMessageBytes() default 1L << 30;

    @AttributeDefinition(name = "Queue memory per domain",
            description = "dom0 heap bytes a domain's queue pairs and completion queues may take", min = "1")
    long maxQueueBytes() default 64L << 20;

    @AttributeDefinition(name = "Queue memory for all domains",
            description = "dom0 heap bytes all queue pairs and completion queues may take; 0: half the heap", min = "0")
    long maxNodeQueueBytes() default 0;

    @AttributeDefinition(name = "Grant pages mapped for all guests",
            description = "Xen's default maptrack table holds 1024 frames of 256 mappings", min = "1")
    long maxGrantPages() default 262_144;

    @AttributeDefinition(name = "Frame authentication",
            description = "on: every frame carries a tag from the cluster secret (etc/io.vmrdma.cluster.secret, made "
                    + "on first start; copy it to every node) and frames without a good one are refused. off: only on a "
                    + "fabric no one else can reach",
            options = {
                @org.osgi.service.metatype.annotations.Option(label = "on", value = "on"),
                @org.osgi.service.metatype.annotations.Option(label = "off", value = "off")
            })
    String auth() default "on";

    @AttributeDefinition(name = "Discovery",
            description = "on: HELLOs on the link's broadcast address find nodes beyond the static peer table. off: "
                    + "static peers only",
            options = {
                @org.osgi.service.metatype.annotations.Option(label = "on", value = "on"),
                @org.osgi.service.metatype.annotations.Option(label = "off", value = "off")
            })
    String discovery() default "on";

    @AttributeDefinition(name = "Congestion control",
            description = "delay: each peer's window follows round trips, losses and receivers' pressure "
                    + "(docs/wire-protocol.md). off: a fixed window of ccMaxWindow bytes per peer",
            options = {
                @org.osgi.service.metatype.annotations.Option(label = "delay", value = "delay"),
                @org.osgi.service.metatype.annotations.Option(label = "off", value = "off")
            })
    String congestionControl() default "delay";

    @AttributeDefinition(name = "Congestion window at start", description = "bytes a new peer's window starts at")
    long ccInitialWindow() default 256L << 10;

    @AttributeDefinition(name = "Congestion window floor", description = "no signal takes a window below it")
    long ccMinWindow() default 64L << 10;

    @AttributeDefinition(name = "Congestion window ceiling",
            description = "the most bytes in flight to one peer; the fixed window with congestionControl = off")
    long ccMaxWindow() default 4L << 20;

    @AttributeDefinition(name = "Target round trip in microseconds",
            description = "a window shrinks while round trips stay above it (or above twice the lowest seen, on a "
                    + "longer path)",
            min = "1")
    long ccTargetRttMicros() default 300;

    @AttributeDefinition(name = "Congestion window increase", description = "bytes per round trip below the target")
    long ccIncrease() default 64L << 10;

    @AttributeDefinition(name = "Congestion window decrease in percent",
            description = "β: share of the excess delay taken off the window per round trip (at most half)",
            min = "1", max = "100")
    int ccDecreasePercent() default 80;

    @AttributeDefinition(name = "Bytes per turn",
            description = "How much one queue pair moves before the next gets a turn", min = "4096")
    int chunkBytes() default 256 * 1024;
}
