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
 * <p>A side of a split without a majority of the configured members cannot write (Hazelcast's split-brain protection
 * refuses it): a change made there is counted, logged and undone, the node keeps the settings last agreed.
 *
 * <p>Joining is not changing: a node that joins adopts the cluster's settings over its own, except the very first
 * member of a new cluster, whose settings become the cluster's. Not thread-safe: {@link ClusterMember} calls it from
 * its one cluster thread.
 */
final class SettingsMirror {

    static final String MAP_PREFIX = "vmrdma.settings.";
    static final String SEEDED = "vmrdma.seeded";
    private static final Logger LOG = LoggerFactory.getLogger(SettingsMirror.class);

    private final HazelcastInstance cluster;
    private final LocalSettings local;
    private final String memberKey;
    /** The cluster's state of each PID as last applied here; absent until this node has joined for that PID. */
    private final Map<String, Map<String, String>> agreed = new HashMap<>();
    final AtomicLong published = new AtomicLong();
    final AtomicLong applied = new AtomicLong();
    final AtomicLong refused = new AtomicLong();

    SettingsMirror(HazelcastInstance cluster, LocalSettings local, String memberKey) {
        this.cluster = cluster;
        this.local = local;
        this.memberKey = memberKey;
    }

    static IMap<String, String> map(HazelcastInstance cluster, String pid) {
        return cluster.getMap(MAP_PREFIX + pid);
    }

    /**
     * Joins every shared PID not joined yet: the first member of a new cluster seeds it with its own settings, any
     * other adopts the cluster's. Needs a majority (the seed is a write); false while this side has none.
     */
    boolean join() {
        try {
            IMap<String, String> seeded = cluster.getMap(SEEDED);
            for (String pid : SharedSettings.PIDS) {
                if (agreed.containsKey(pid)) {
                    continue;
                }
                Map<String, String> mine = local.shared(pid);
                if (seeded.putIfAbsent(pid, memberKey) == null) {
                    map(cluster, pid).putAll(mine);
                    LOG.info("cluster: {} seeded with this node's {} shared settings", pid, mine.size());
                }
                agreed.put(pid, mine);
                synchronize(pid);
            }
            return true;
        } catch (SplitBrainProtectionException e) {
            return false;
        }
    }

    boolean joined() {
        return agreed.size() == SharedSettings.PIDS.size();
    }

    /** Publishes this node's own changes of {@code pid}, then applies the cluster's state of it locally. */
    void synchronize(String pid) {
        Map<String, String> before = agreed.get(pid);
        if (before == null) {
            return;
        }
        Map<String, String> mine = local.shared(pid);
        IMap<String, String> map = map(cluster, pid);
        Set<String> keys = new HashSet<>(before.keySet());
        keys.addAll(mine.keySet());
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
                    published.incrementAndGet();
                    changes++;
                }
            }
        } catch (SplitBrainProtectionException e) {
            refused.incrementAndGet();
            LOG.warn("cluster: change of {} refused: this side of the network has no majority of the members; the "
                    + "settings last agreed stay", pid);
        }
        if (changes > 0) {
            LOG.info("cluster: published {} change(s) of {}", changes, pid);
        }
        Map<String, String> theirs = new TreeMap<>(map);
        if (!theirs.equals(mine)) {
            local.replaceShared(pid, theirs);
            applied.incrementAndGet();
            LOG.info("cluster: applied the cluster's {}", pid);
        }
        agreed.put(pid, theirs);
    }

    void synchronizeAll() {
        SharedSettings.PIDS.forEach(this::synchronize);
    }
}
