/**
 * What both sides of the simulator share: memory mappings, the grant-table layout, hypercall framing, the
 * XenStore client and the granting half of gntalloc. Used by dom0's simulator and by guests; not exported.
 */
package io.vmrdma.xen.sim.internal.abi;
