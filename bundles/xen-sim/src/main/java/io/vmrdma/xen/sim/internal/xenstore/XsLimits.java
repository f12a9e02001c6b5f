package io.vmrdma.xen.sim.internal.xenstore;

/**
 * xenstored's per-domain quotas (4.17 defaults: {@code -E 1000}, {@code -S 2048}, {@code -W 128},
 * {@code -t 10}); dom0 is exempt from all of them, as in xenstored.
 *
 * @param nodesPerDomain       nodes a domain may own
 * @param maxNodeBytes         bytes of one node's value
 * @param watchesPerConnection watches one connection may hold
 * @param transactionsPerConnection transactions one connection may have open
 */
public record XsLimits(int nodesPerDomain, int maxNodeBytes, int watchesPerConnection,
                       int transactionsPerConnection) {

    public static final XsLimits XEN_DEFAULTS = new XsLimits(1000, 2048, 128, 10);
}
