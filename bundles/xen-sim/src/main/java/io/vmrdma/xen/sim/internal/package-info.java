/**
 * The simulated hypervisor in dom0: domains, grant tables, event channels, the Unix-socket server guests talk
 * to, and the DS component. Not exported.
 */
package io.vmrdma.xen.sim.internal;
