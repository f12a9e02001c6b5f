package io.vmrdma.engine.internal.verbs;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

import io.vmrdma.api.verbs.Partitions;

/**
 * Which partitions each domain belongs to, by domain name (stable across reboots, unlike domids). With no
 * partitions configured every domain is in {@link Partitions#DEFAULT_PKEY}; once any is configured, a domain is
 * in exactly the partitions that list it. Immutable: the engine swaps in a new table when configuration changes.
 */
final class PartitionTable {

    static final PartitionTable DEFAULT = new PartitionTable(Map.of());

    private static final int[] DEFAULT_ONLY = {Partitions.DEFAULT_PKEY};
    private static final int[] NONE = {};

    private final Map<String, int[]> byDomain;
    private final boolean configured;

    /** A table from partition key to the names of its member domains. */
    PartitionTable(Map<Integer, ? extends Iterable<String>> members) {
        Map<String, int[]> table = new HashMap<>();
        new TreeMap<>(members).forEach((pkey, names) -> {
            if (!Partitions.isValid(pkey)) {
                throw new IllegalArgumentException("partition key out of range 0x0001..0x7fff: 0x"
                        + Integer.toHexString(pkey));
            }
            for (String name : names) {
                int[] old = table.getOrDefault(name, NONE);
                int[] grown = Arrays.copyOf(old, old.length + 1);
                grown[old.length] = pkey;
                table.put(name, grown);
            }
        });
        byDomain = Collections.unmodifiableMap(table);
        configured = !members.isEmpty();
    }

    /** The partitions of a domain, in ascending key order. */
    int[] partitionsOf(String domainName) {
        if (!configured) {
            return DEFAULT_ONLY;
        }
        return byDomain.getOrDefault(domainName, NONE);
    }

    boolean isMember(String domainName, int pkey) {
        for (int k : partitionsOf(domainName)) {
            if (k == pkey) {
                return true;
            }
        }
        return false;
    }

    /** The lowest partition both domains are in, or -1 when they share none. */
    int firstShared(String a, String b) {
        for (int k : partitionsOf(a)) {
            if (isMember(b, k)) {
                return k;
            }
        }
        return -1;
    }
}
