package io.vmrdma.cluster.internal;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.splitbrainprotection.SplitBrainProtectionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this node's shared settings equal to the cluster's. The cluster holds one replicated map per PID; a node
 * {@linkplain #synchronize synchronizes} a PID whenever its local copy or the cluster's map changes, and on a timer:
 * the keys it changed itself since the last agreement (a console command, an edited file) go to the cluster first,
 * then the cluster's whole state is applied locally. Two nodes changing one key at once both write; the map keeps
 * the last write, and every node applies what the map keeps, so all end in one state.
 *
 * <p>A change is undone, logged and counted instead of sent when this node's own checks refuse it (so no host is
 * handed settings its engine would refuse), and when this node's side of the network has no majority of the
 * configured members (Hazelcast's split-brain protection refuses the write), or has not joined yet: the node keeps
 * the settings last agreed. Settings from the cluster that this node's checks refuse (a peer of another version)
 * are not applied, and counted.
 *
 * <p>Joining is not changing: a node that joins adopts the cluster's settings over its own, except the member a
 * cluster without settings (new, or restarted whole) elects to seed it ({@link SeedElection}). Every change is
 * counted in the cluster's version of the PID, and every node keeps the version it last agreed
 * ({@link AgreedVersions}), which is what that election compares. Not thread-safe: {@link ClusterMember} calls it
 * from its one cluster thread.
 */
final class SettingsMirror {

    static final String MAP_PREFIX = "vmrdma.settings.";
    private static final Logger LOG = LoggerFactory.getLogger(SettingsMirror.class);

    private final HazelcastInstance cluster;
    private final LocalSettings local;
    private final AgreedVersions versions;
    private final SeedElection election;
    /** The settings of each PID last agreed: this node's own until it joins, then the cluster's as last applied. */
    private final Map<String, Map<String, String>> agreed = new HashMap<>();
    private final Set<String> joined = new HashSet<>();
    /** The cluster's state of a PID this node last refused to apply, so a refusal is logged once. */
    private final Map<String, Map<String, String>> refusedFromCluster = new HashMap<>();
    final AtomicLong published = new AtomicLong();
    final AtomicLong applied = new AtomicLong();
    final AtomicLong refused = new AtomicLong();
    final AtomicLong invalid = new AtomicLong();

    /** @param majority how many members' candidacies a cluster without settings waits for before one seeds it */
    SettingsMirror(HazelcastInstance cluster, LocalSettings local, AgreedVersions versions, int majority) {
        this.cluster = cluster;
        this.local = local;
        this.versions = versions;
        this.election = new SeedElection(cluster, majority);
        for (String pid : SharedSettings.PIDS) {
            agreed.put(pid, local.shared(pid));
        }
    }

    static IMap<String, String> map(HazelcastInstance cluster, String pid) {
        return cluster.getMap(MAP_PREFIX + pid);
    }

    /**
     * Joins every shared PID not joined yet: adopts the cluster's settings, or seeds the cluster with this node's
     * when elected to. Needs a majority; false while this side has none or a PID waits for its seed.
     *
     * @param nodeId this node's id, which breaks ties between candidates
     */
    boolean join(int nodeId) {
        try {
            for (String pid : SharedSettings.PIDS) {
                if (joined.contains(pid)) {
                    continue;
                }
                synchronize(pid);
                SeedElection.Turn turn = election.turn(pid, nodeId, versions);
                if (turn == SeedElection.Turn.WAIT) {
                    continue;
                }
                if (turn == SeedElection.Turn.SEED) {
                    seed(pid);
                }
                joined.add(pid);
                synchronize(pid);
            }
            return joined();
        } catch (SplitBrainProtectionException e) {
            return false;
        }
    }

    /** Makes this node's settings of {@code pid}, and their version, the cluster's. */
    private void seed(String pid) {
        Map<String, String> mine = agreed.get(pid);
        IMap<String, String> map = map(cluster, pid);
        map.keySet().stream().filter(key -> !mine.containsKey(key)).forEach(map::delete);
        map.putAll(mine);
        AgreedVersions.cluster(cluster).set(pid, versions.of(pid));
        election.seeded(pid);
        LOG.info("cluster: {} seeded with this node's {} shared settings, version {}", pid, mine.size(),
                versions.of(pid));
    }

    boolean joined() {
        return joined.size() == SharedSettings.PIDS.size();
    }

    /** Publishes this node's own changes of {@code pid}, then applies the cluster's state of it locally. */
    void synchronize(String pid) {
        Map<String, String> before = agreed.get(pid);
        Map<String, String> mine = local.shared(pid);
        if (!mine.equals(before) && !publish(pid, before, mine)) {
            local.replaceShared(pid, before);
            return;
        }
        if (!joined.contains(pid)) {
            return;
        }
        long version;
        Map<String, String> theirs;
        try {
            // The version first: one read after the settings could be newer than what they hold.
            version = AgreedVersions.current(cluster, pid);
            theirs = new TreeMap<>(map(cluster, pid));
        } catch (SplitBrainProtectionException e) {
            // No majority on this side: its copy may miss entries; the settings last agreed stay.
            return;
        }
        if (!theirs.equals(mine)) {
            String refusal = local.refusal(pid, theirs);
            if (refusal != null) {
                if (!theirs.equals(refusedFromCluster.put(pid, theirs))) {
                    invalid.incrementAndGet();
                    LOG.error("cluster: the cluster's {} refused here, this node keeps its own: {}", pid, refusal);
                }
                return;
            }
            local.replaceShared(pid, theirs);
            applied.incrementAndGet();
            LOG.info("cluster: applied the cluster's {}", pid);
        }
        agreed.put(pid, theirs);
        versions.agree(pid, version);
    }

    void synchronizeAll() {
        SharedSettings.PIDS.forEach(this::synchronize);
    }

    /** Sends the keys this node changed; false, counted and logged, when they may not go. */
    private boolean publish(String pid, Map<String, String> before, Map<String, String> mine) {
        String refusal = local.refusal(pid, mine);
        if (refusal != null) {
            invalid.incrementAndGet();
            LOG.warn("cluster: change of {} refused, it goes to no node and is undone here: {}", pid, refusal);
            return false;
        }
        if (!joined.contains(pid)) {
            refused.incrementAndGet();
            LOG.warn("cluster: change of {} refused: this node has not joined a majority of the members yet; the "
                    + "settings last agreed stay", pid);
            return false;
        }
        Set<String> keys = new HashSet<>(before.keySet());
        keys.addAll(mine.keySet());
        IMap<String, String> map = map(cluster, pid);
        int changes = 0;
        try {
            for (String key : keys) {
                String value = mine.get(key);
                if (!Objects.equals(value, before.get(key))) {
                    if (value == null) {
                        map.delete(key);
                    } else {
                        map.set(key, value);
                    }
                    changes++;
                }
            }
        } catch (SplitBrainProtectionException e) {
            refused.incrementAndGet();
            LOG.warn("cluster: change of {} refused: this side of the network has no majority of the members; the "
                    + "settings last agreed stay", pid);
            return false;
        }
        long version = AgreedVersions.count(cluster, pid);
        published.addAndGet(changes);
        LOG.info("cluster: published {} change(s) of {}, version {}", changes, pid, version);
        return true;
    }
}
