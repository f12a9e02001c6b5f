package io.vmrdma.shell.internal;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Domain;
import io.vmrdma.api.Node;
import io.vmrdma.api.PeerInfo;

/**
 * The counters of this node, its domains and its peers at one moment: two samples make the rates of
 * {@code vmrdma:stats}. Counters are copied (never the live objects) so a later sample cannot change an earlier one.
 *
 * @param nanos   when it was taken ({@link System#nanoTime()})
 * @param node    the node's counters, by {@link Counter#ordinal()}
 * @param domains each domain's name and counters, by domid
 * @param peers   each peer as it was, by node id
 */
record StatsSample(long nanos, long[] node, Map<Integer, DomainCounters> domains, Map<Integer, PeerInfo> peers) {

    /**
     * One domain's name, its open devices as {@link DomainsReport#devices} writes them, and its counters by
     * {@link Counter#ordinal()}.
     */
    record DomainCounters(String name, String devices, long[] values) {

        long get(Counter counter) {
            return values[counter.ordinal()];
        }
    }

    static StatsSample take(long nanos, Node node, List<Domain> domains, List<PeerInfo> peers) {
        Map<Integer, DomainCounters> byDomid = new TreeMap<>();
        for (Domain d : domains) {
            long[] values = new long[Counter.values().length];
            for (Counter c : Counter.values()) {
                values[c.ordinal()] = d.counter(c);
            }
            byDomid.put(d.domid(), new DomainCounters(d.name(), DomainsReport.devices(d), values));
        }
        Map<Integer, PeerInfo> byNode = new TreeMap<>();
        peers.forEach(p -> byNode.put(p.node(), p));
        long[] totals = new long[Counter.values().length];
        for (Counter c : Counter.values()) {
            totals[c.ordinal()] = node.counter(c);
        }
        return new StatsSample(nanos, totals, byDomid, byNode);
    }

    long node(Counter counter) {
        return node[counter.ordinal()];
    }
}
