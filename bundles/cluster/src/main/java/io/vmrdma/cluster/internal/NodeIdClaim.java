package io.vmrdma.cluster.internal;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalInt;
import java.util.UUID;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;

/**
 * Node ids, unique in the cluster and kept across restarts. Each node has a member key of its own (a random UUID
 * made on its first start, kept in its state directory); the cluster's map of node ids says which key holds which
 * id. A node claims the id it held before (kept beside the key), else the one its {@code etc/} names, else the
 * lowest free one; a claim is an atomic put-if-absent on the id, so two nodes never get one id. A node that was
 * killed finds its id still held by its own key and takes it back.
 */
final class NodeIdClaim {

    static final String NODE_IDS = "vmrdma.nodeIds";
    static final int MAX_NODE_ID = 65535;

    private final Path stateDirectory;
    private final String memberKey;

    NodeIdClaim(Path stateDirectory) {
        this.stateDirectory = stateDirectory;
        this.memberKey = readOrCreate(stateDirectory.resolve("member-key"), UUID.randomUUID().toString());
    }

    String memberKey() {
        return memberKey;
    }

    /** The node id this node held last, if it ever held one. */
    OptionalInt held() {
        try {
            int id = Integer.parseInt(StateFile.read(stateDirectory.resolve("node-id")));
            return id >= 0 && id <= MAX_NODE_ID ? OptionalInt.of(id) : OptionalInt.empty();
        } catch (UncheckedIOException | NumberFormatException e) {
            return OptionalInt.empty();
        }
    }

    /**
     * Claims an id in {@code cluster}: the one held before, else {@code configured}, else the lowest free one, and
     * keeps it in the state directory. Ids this key held before and no longer uses are given back.
     *
     * @throws com.hazelcast.splitbrainprotection.SplitBrainProtectionException without a majority
     * @throws IllegalStateException when every id is held
     */
    int claim(HazelcastInstance cluster, int configured) {
        IMap<Integer, String> ids = cluster.getMap(NODE_IDS);
        int id = held().orElse(configured);
        if (!claimed(ids, id)) {
            id = -1;
            for (int candidate = 1; candidate <= MAX_NODE_ID && id < 0; candidate++) {
                if (claimed(ids, candidate)) {
                    id = candidate;
                }
            }
            if (id < 0) {
                throw new IllegalStateException("every node id is held");
            }
        }
        for (Map.Entry<Integer, String> entry : ids.entrySet()) {
            if (entry.getValue().equals(memberKey) && entry.getKey() != id) {
                ids.remove(entry.getKey(), memberKey);
            }
        }
        StateFile.write(stateDirectory.resolve("node-id"), Integer.toString(id));
        return id;
    }

    private boolean claimed(IMap<Integer, String> ids, int id) {
        String holder = ids.putIfAbsent(id, memberKey);
        return holder == null || holder.equals(memberKey);
    }

    private static String readOrCreate(Path file, String fresh) {
        String kept = StateFile.read(file);
        if (!kept.isEmpty()) {
            return kept;
        }
        StateFile.write(file, fresh);
        return fresh;
    }
}
