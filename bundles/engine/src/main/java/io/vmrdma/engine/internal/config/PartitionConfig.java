package io.vmrdma.engine.internal.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.vmrdma.api.verbs.Partitions;

/**
 * Reads partitions from configuration properties: every key {@code partition.<pkey>} (hex {@code 0x0001} or
 * decimal) lists the names of its member domains, comma-separated. Domain names, not domids: a VM keeps its
 * partitions across reboots.
 */
final class PartitionConfig {

    static final String PREFIX = "partition.";

    private PartitionConfig() {
    }

    /**
     * The partition table in {@code properties}: partition key to member names; empty when none is configured.
     *
     * @throws IllegalArgumentException naming the first bad key or value
     */
    static Map<Integer, List<String>> parse(Map<String, ?> properties) {
        Map<Integer, List<String>> table = new TreeMap<>();
        for (Map.Entry<String, ?> entry : properties.entrySet()) {
            if (!entry.getKey().startsWith(PREFIX)) {
                continue;
            }
            int pkey;
            try {
                pkey = Partitions.parse(entry.getKey().substring(PREFIX.length()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(entry.getKey() + ": " + e.getMessage());
            }
            List<String> names = new ArrayList<>();
            for (String name : String.valueOf(entry.getValue()).split(",")) {
                String trimmed = name.trim();
                if (trimmed.isEmpty()) {
                    continue;
                }
                if (!trimmed.matches("[A-Za-z0-9_.:-]{1,64}")) {
                    throw new IllegalArgumentException("'" + trimmed + "' in " + entry.getKey()
                            + " is not a domain name (letters, digits, _ . : -, at most 64)");
                }
                names.add(trimmed);
            }
            if (table.put(pkey, names) != null) {
                throw new IllegalArgumentException("partition 0x" + Integer.toHexString(pkey) + " is listed twice");
            }
        }
        return table;
    }
}
