/**
 * Many dom0s managed as one cluster: the group's members as the console sees them and the rollout of a feature to
 * every member. Provided by the {@code io.vmrdma.cluster} bundle while it runs (feature {@code vmrdma-cluster}); a
 * standalone node has no {@link io.vmrdma.api.cluster.ClusterView}.
 */
@Export
@Version("1.0.0")
package io.vmrdma.api.cluster;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
