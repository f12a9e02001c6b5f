package io.vmrdma.cluster.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole cluster stopped and started again: real Hazelcast members on loopback, each node's settings (an in-memory
 * stand-in for Configuration Admin) and state directory kept across the restart, as a host's {@code etc/} and
 * {@code state/} are.
 */
class FullRestartTest {

    private static final String VM = "io.vmrdma.sched.vm";
    private static final int NODES = 3;

    @TempDir
    Path state;

    private final int base = 20000 + ThreadLocalRandom.current().nextInt(20000);
    private final List<String> list =
            List.of("127.0.0.1:" + base, "127.0.0.1:" + (base + 1), "127.0.0.1:" + (base + 2));
    private final HazelcastInstance[] members = new HazelcastInstance[NODES];
    private final SettingsMirror[] mirrors = new SettingsMirror[NODES];
    private final List<Map<String, Map<String, String>>> etc = new ArrayList<>();

    @AfterEach
    void shutdown() {
        for (HazelcastInstance member : members) {
            if (member != null) {
                member.shutdown();
            }
        }
    }

    @Test
    void theNodeWithTheNewestSettingsSeedsTheRestartedClusterNotTheFirstUp() throws Exception {
        for (int i = 0; i < NODES; i++) {
            etc.add(new HashMap<>());
            start(i);
        }
        joinAll(0, 1, 2);
        change(0, "web1.weight", "2");
        // Node 1 stops; the others agree a newer weight without it.
        stop(0);
        change(1, "web1.weight", "3");
        assertThat(etc.get(0).get(VM)).containsEntry("web1.weight", "2");
        stop(1);
        stop(2);

        // Node 1, the one whose settings are older, is the first up again; node 3 joins it later.
        start(0);
        start(2);
        joinAll(0, 2);
        for (int node : new int[] {0, 2}) {
            assertThat(etc.get(node).get(VM)).as("node %d", node + 1).containsEntry("web1.weight", "3");
        }
        start(1);
        joinAll(0, 1, 2);
        assertThat(etc.get(1).get(VM)).containsEntry("web1.weight", "3");
        Map<String, String> cluster = new TreeMap<>(members[0].<String, String>getMap(SettingsMirror.MAP_PREFIX + VM));
        assertThat(cluster).containsEntry("web1.weight", "3");
    }

    @Test
    void amongEqualVersionsTheLowestNodeIdSeeds() throws Exception {
        for (int i = 0; i < NODES; i++) {
            etc.add(new HashMap<>());
            etc.get(i).put(VM, new TreeMap<>(Map.of("web1.weight", Integer.toString(10 + i))));
        }
        start(2);
        start(1);
        joinAll(2, 1);
        start(0);
        joinAll(0, 1, 2);
        for (int i = 0; i < NODES; i++) {
            assertThat(etc.get(i).get(VM)).as("node %d", i + 1).containsEntry("web1.weight", "11");
        }
    }

    private void start(int node) {
        ClusterSettings settings = new ClusterSettings("restart-test-" + base, list, "127.0.0.1", base + node, 3,
                state.resolve("n" + node), 2);
        members[node] = Hazelcast.newHazelcastInstance(HazelcastConfig.of(settings,
                FullRestartTest.class.getClassLoader()));
        mirrors[node] = new SettingsMirror(members[node], new Etc(etc.get(node)),
                new AgreedVersions(settings.stateDirectory()), settings.majority());
    }

    private void stop(int node) {
        members[node].shutdown();
        members[node] = null;
        mirrors[node] = null;
    }

    /** Joins the nodes until each has, as the cluster thread does once a second; node ids are index + 1. */
    private void joinAll(int... nodes) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        boolean all = false;
        while (!all && System.nanoTime() < deadline) {
            all = true;
            for (int node : nodes) {
                all &= mirrors[node].join(node + 1);
            }
            if (!all) {
                Thread.sleep(200);
            }
        }
        assertThat(all).as("nodes joined").isTrue();
        for (int node : nodes) {
            mirrors[node].synchronizeAll();
        }
    }

    /** A console change on {@code node}, then every live node synchronizes. */
    private void change(int node, String key, String value) {
        etc.get(node).computeIfAbsent(VM, pid -> new TreeMap<>()).put(key, value);
        for (int round = 0; round < 2; round++) {
            for (SettingsMirror mirror : mirrors) {
                if (mirror != null) {
                    mirror.synchronizeAll();
                }
            }
        }
    }

    /** One host's shared settings by PID, kept across its restarts as its {@code etc/} files are. */
    private record Etc(Map<String, Map<String, String>> pids) implements LocalSettings {

        @Override
        public Map<String, String> shared(String pid) {
            return new TreeMap<>(pids.getOrDefault(pid, Map.of()));
        }

        @Override
        public void replaceShared(String pid, Map<String, String> values) {
            pids.put(pid, new TreeMap<>(values));
        }

        @Override
        public String refusal(String pid, Map<String, String> values) {
            return null;
        }
    }
}
