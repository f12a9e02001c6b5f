package io.vmrdma.cluster.internal;

import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;

/**
 * Versions of the shared settings, one per PID: the cluster counts every change of a PID's settings, and each node
 * keeps in its state directory the version of the settings it last agreed with the cluster. When every member stopped
 * and the cluster starts again with no settings in memory, these say whose {@code etc/} holds the newest
 * ({@link SeedElection}). Not thread-safe: the cluster thread's.
 */
final class AgreedVersions {

    static final String CLUSTER_VERSIONS = "vmrdma.settingsVersions";

    private final Path file;
    private final Map<String, Long> agreed = new TreeMap<>();

    AgreedVersions(Path stateDirectory) {
        this.file = stateDirectory.resolve("agreed-versions");
        for (String line : StateFile.read(file).split("\n")) {
            int equals = line.indexOf('=');
            if (equals > 0) {
                try {
                    agreed.put(line.substring(0, equals).trim(), Long.parseLong(line.substring(equals + 1).trim()));
                } catch (NumberFormatException e) {
                    // A damaged line claims nothing: this node's settings count as the oldest.
                }
            }
        }
    }

    static IMap<String, Long> cluster(HazelcastInstance cluster) {
        return cluster.getMap(CLUSTER_VERSIONS);
    }

    /** The version of {@code pid}'s settings this node last agreed, 0 when it never did. */
    long of(String pid) {
        return agreed.getOrDefault(pid, 0L);
    }

    /** Every PID's version, for a seed candidacy. */
    Map<String, Long> all() {
        return new TreeMap<>(agreed);
    }

    /** This node holds version {@code version} of {@code pid}'s settings; kept before the method returns. */
    void agree(String pid, long version) {
        Long previous = agreed.put(pid, version);
        if (previous == null || previous != version) {
            StringBuilder text = new StringBuilder();
            agreed.forEach((key, value) -> text.append(key).append('=').append(value).append('\n'));
            StateFile.write(file, text.toString().trim());
        }
    }

    /** The cluster's version of {@code pid} now, 0 before the first. */
    static long current(HazelcastInstance cluster, String pid) {
        Long version = cluster(cluster).get(pid);
        return version == null ? 0 : version;
    }

    /** Counts one change of {@code pid} in the cluster; returns the new version. */
    static long count(HazelcastInstance cluster, String pid) {
        IMap<String, Long> versions = cluster(cluster);
        while (true) {
            Long version = versions.get(pid);
            if (version == null ? versions.putIfAbsent(pid, 1L) == null : versions.replace(pid, version, version + 1)) {
                return version == null ? 1 : version + 1;
            }
        }
    }
}
