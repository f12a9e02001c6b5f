package io.vmrdma.cluster.internal;

import java.io.Serializable;
import java.util.TreeMap;

/**
 * A member's offer to seed a cluster that has no settings: who it is and how new its settings are.
 *
 * @param memberUuid the Hazelcast member it is now, to tell a live candidate from a gone one
 * @param versions   the version of each PID's settings it last agreed ({@link AgreedVersions})
 */
record SeedCandidacy(String memberUuid, int nodeId, TreeMap<String, Long> versions) implements Serializable {

    private static final long serialVersionUID = 1L;

    long version(String pid) {
        return versions.getOrDefault(pid, 0L);
    }
}
