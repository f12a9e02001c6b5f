package io.vmrdma.api.cluster;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/**
 * This node's view of the cluster it is a member of. The settings every node must agree on (partitions, per-VM
 * settings, the policy in charge, quotas) follow the cluster on their own; this is what the console asks of it.
 */
@ProviderType
public interface ClusterView {

    /** Every node the cluster knows, by node id: the live members and the nodes that hold an id but are gone. */
    List<ClusterNode> nodes();

    /** How many members the configuration lists; a majority of them is needed to change a setting. */
    int configuredMembers();

    /** Whether this node's side of the network holds a majority of the configured members. */
    boolean hasMajority();

    /**
     * Asks every member, those joining later included, to install {@code feature} ({@code NAME}, its newest version
     * in the member's repositories, or {@code NAME/VERSION}), updating it where another version is installed, and
     * waits at most {@code timeout} for the live members' outcomes. Since 2.0.0 with {@code repository}.
     *
     * @param repository a features repository each member adds first (where a new version is), or none
     * @return by node id: {@code installed}, {@code updated from OLD to NEW}, {@code failed: <reason>} or
     *         {@code pending} (no answer in time)
     * @throws IllegalStateException when this node's side has no majority
     */
    Map<Integer, String> rollOut(String feature, Optional<URI> repository, Duration timeout)
            throws InterruptedException;

    /** The cluster's own counts, by name: changes published, applied, refused without a majority, and so on. */
    Map<String, Long> counters();
}
