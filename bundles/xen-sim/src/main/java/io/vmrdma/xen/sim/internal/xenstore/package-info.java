/** The simulator's xenstored: the store, its permissions, watches, transactions and quotas. Not exported. */
package io.vmrdma.xen.sim.internal.xenstore;
