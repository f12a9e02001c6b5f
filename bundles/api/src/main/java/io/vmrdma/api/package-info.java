/**
 * Node-level contracts of vmrdma: the {@link io.vmrdma.api.Node} a dom0 engine presents to operators and the
 * {@link io.vmrdma.api.DomainRegistry} of guest domains (VMs) with their counters, and (since 0.2.0) the
 * {@link io.vmrdma.api.PeerRegistry} of other nodes, and (since 0.3.0) the node's own counters
 * ({@link io.vmrdma.api.Node#counter}) and the {@link io.vmrdma.api.VerbsInventory} of queue pairs and memory
 * regions, and (since 0.4.0) the {@link io.vmrdma.api.ConfigurationCheck}s that keep a bad configuration from
 * being applied, and (since 0.6.0) the counters of control frames that do not belong and of connection requests
 * refused, and (since 0.7.0) the causes of {@link io.vmrdma.api.FrameDrop frame drops} by their counters, and (since 0.9.0) {@link io.vmrdma.api.DomainMigration}, the
 * counters of domain migrations and of the queue-pair moves they cause, and {@link io.vmrdma.api.Domain#migratingTo},
 * and (since 0.10.0) whether the node waits for its cluster to confirm its id
 * ({@link io.vmrdma.api.Node#awaitingNodeId()}), and (since 0.11.0) the
 * {@link io.vmrdma.api.Domain#devices devices} of a domain, one per guest process.
 *
 * <p>Sub-packages hold the contract of each replaceable concern: {@code nic} (NIC driver bindings),
 * {@code xen} (grant tables, event channels, XenStore), {@code verbs} (the RDMA objects) and {@code sched}
 * (per-VM scheduler policies).
 */
@Export
@Version("0.11.0")
package io.vmrdma.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
