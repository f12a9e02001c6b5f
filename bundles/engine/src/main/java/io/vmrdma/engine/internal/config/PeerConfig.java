package io.vmrdma.engine.internal.config;

import java.util.Map;
import java.util.TreeMap;

import io.vmrdma.api.nic.LinkAddress;

/**
 * Reads the static peer table from configuration properties: every key {@code peer.<node id>} gives that node's
 * link address, as colon-separated hex bytes ({@code 02:00:00:00:00:02} for Ethernet, {@code 00:02} on the
 * loopback wire).
 */
final class PeerConfig {

    static final String PREFIX = "peer.";

    private PeerConfig() {
    }

    /**
     * @throws IllegalArgumentException naming the first bad key or value
     */
    static Map<Integer, LinkAddress> parse(Map<String, ?> properties, int self) {
        Map<Integer, LinkAddress> peers = new TreeMap<>();
        for (Map.Entry<String, ?> entry : properties.entrySet()) {
            if (!entry.getKey().startsWith(PREFIX)) {
                continue;
            }
            int node;
            try {
                node = Integer.parseInt(entry.getKey().substring(PREFIX.length()).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(entry.getKey() + ": not a node id");
            }
            if (node < 0 || node > 0xFFFF || node == self) {
                throw new IllegalArgumentException(entry.getKey() + ": a peer's node id is 0..65535 and not ours");
            }
            try {
                peers.put(node, LinkAddress.parse(String.valueOf(entry.getValue()).trim()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(entry.getKey() + ": " + e.getMessage());
            }
        }
        return peers;
    }
}
