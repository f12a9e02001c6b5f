package io.vmrdma.cluster.internal;

import java.util.Dictionary;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which configuration keys the cluster holds: what every node must agree on for isolation and fair sharing to hold
 * across hosts. Partitions and per-domain limits (quotas) in {@code io.vmrdma.engine}; the policy in charge and the
 * shaper switch ({@code io.vmrdma.sched}); every per-VM setting ({@code io.vmrdma.sched.vm}); the priority policy's
 * guard ({@code io.vmrdma.sched.priority}). What describes one host stays local: its node id (the cluster assigns
 * it, see {@link NodeIdClaim}), its NIC binding ({@code nic}), its static peers and discovery, every NIC binding's
 * own PID (interface, addresses) and the cluster secret, a file of its own.
 */
final class SharedSettings {

    static final String ENGINE = "io.vmrdma.engine";
    static final List<String> PIDS =
            List.of(ENGINE, "io.vmrdma.sched", "io.vmrdma.sched.vm", "io.vmrdma.sched.priority");

    private SharedSettings() {
    }

    /** Whether the cluster holds {@code key} of {@code pid}. */
    static boolean shared(String pid, String key) {
        if (key.startsWith("service.") || key.startsWith("felix.") || key.startsWith("component.")
                || key.startsWith(":")) {
            return false;
        }
        if (ENGINE.equals(pid)) {
            return key.startsWith("partition.") || key.matches("max[A-Z][A-Za-z]*") || key.equals("chunkBytes")
                    || key.equals("auth");
        }
        return PIDS.contains(pid);
    }

    /** The shared keys of one configuration's properties, as text (how the {@code etc/} files hold them). */
    static Map<String, String> of(String pid, Dictionary<String, Object> properties) {
        Map<String, String> shared = new TreeMap<>();
        if (properties == null) {
            return shared;
        }
        for (Enumeration<String> keys = properties.keys(); keys.hasMoreElements();) {
            String key = keys.nextElement();
            Object value = properties.get(key);
            if (value != null && shared(pid, key)) {
                shared.put(key, text(value));
            }
        }
        return shared;
    }

    private static String text(Object value) {
        if (value instanceof Object[] array) {
            return String.join(", ", java.util.Arrays.stream(array).map(String::valueOf).toList());
        }
        return String.valueOf(value);
    }
}
