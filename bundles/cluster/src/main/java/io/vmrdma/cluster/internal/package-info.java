/**
 * The cluster member of this dom0: a Hazelcast member bound to one address of the management network, with
 * multicast off and the members listed in {@code etc/io.vmrdma.cluster.cfg}.
 *
 * <p>{@link io.vmrdma.cluster.internal.ClusterMember} is the DS component; {@link
 * io.vmrdma.cluster.internal.ClusterSettings} checks its configuration; {@link
 * io.vmrdma.cluster.internal.SharedSettings} says which configuration keys the cluster holds and which stay local;
 * {@link io.vmrdma.cluster.internal.SettingsMirror} keeps this node's copy of those keys equal to the cluster's;
 * {@link io.vmrdma.cluster.internal.NodeIdClaim} assigns node ids; {@link io.vmrdma.cluster.internal.FeatureRollout}
 * installs features everywhere; {@link io.vmrdma.cluster.internal.MemberReport} is what each node says of itself.
 */
package io.vmrdma.cluster.internal;
