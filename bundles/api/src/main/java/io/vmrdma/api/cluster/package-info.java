/**
 * Many dom0s managed as one cluster: the group's members as the console sees them and the rollout of a feature to
 * every member. Provided by the {@code io.vmrdma.cluster} bundle while it runs (feature {@code vmrdma-cluster}); a
 * standalone node has no {@link io.vmrdma.api.cluster.ClusterView}. Since 2.0.0, a rollout may name a features
 * repository (an update of a feature), and the cluster's {@link io.vmrdma.api.cluster.NodeIdConfirmation} of this
 * node's id is what an engine that leaves its id to the cluster waits for before it goes on the wire.
 */
@Export
@Version("2.0.0")
package io.vmrdma.api.cluster;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
