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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real Hazelcast members in this JVM on loopback, each with its own copy of the settings (an in-memory stand-in
 * for Configuration Admin, which needs a framework), synchronized by hand so every step is deterministic.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SettingsMirrorTest {

    private static final String VM = "io.vmrdma.sched.vm";
    private static final String ENGINE = "io.vmrdma.engine";
    private static final List<HazelcastInstance> members = new ArrayList<>();
    private static final List<HostSettings> hosts = new ArrayList<>();
    private static final List<SettingsMirror> mirrors = new ArrayList<>();

    @TempDir
    static Path state;

    @BeforeAll
    static void threeMembers() {
        int base = 20000 + ThreadLocalRandom.current().nextInt(20000);
        List<String> list = List.of("127.0.0.1:" + base, "127.0.0.1:" + (base + 1), "127.0.0.1:" + (base + 2));
        for (int i = 0; i < 3; i++) {
            ClusterSettings settings = new ClusterSettings("mirror-test-" + base, list, "127.0.0.1", base + i, 3,
                    state.resolve("m" + i), 2);
            members.add(Hazelcast.newHazelcastInstance(HazelcastConfig.of(settings,
                    SettingsMirrorTest.class.getClassLoader())));
        }
        for (int i = 0; i < 3; i++) {
            HostSettings host = new HostSettings();
            host.put(ENGINE, "nodeId", Integer.toString(i + 1));
            host.put(ENGINE, "nic", "packet" + i);
            host.put(VM, "web1.weight", Integer.toString(i + 1));
            hosts.add(host);
            mirrors.add(new SettingsMirror(members.get(i), host, new AgreedVersions(state.resolve("m" + i)), 2));
        }
        // A new cluster: every member a candidate with no version, so node 1 (host 0) seeds it.
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < 3; i++) {
                mirrors.get(i).join(i + 1);
            }
        }
        mirrors.forEach(mirror -> assertThat(mirror.joined()).isTrue());
    }

    @AfterAll
    static void shutdown() {
        members.forEach(HazelcastInstance::shutdown);
    }

    @Test
    @Order(1)
    void theFirstMemberSeedsTheOthersAdoptItsSettingsAndKeepTheirOwnLocalKeys() {
        synchronizeAll();
        for (int i = 0; i < 3; i++) {
            assertThat(hosts.get(i).shared(VM)).containsExactly(Map.entry("web1.weight", "1"));
            assertThat(hosts.get(i).all(ENGINE)).containsEntry("nodeId", Integer.toString(i + 1))
                    .containsEntry("nic", "packet" + i);
        }
    }

    @Test
    @Order(2)
    void aChangeOnOneNodeReachesEveryNodeAndARemovalToo() {
        hosts.get(1).put(ENGINE, "partition.0x8001", "web1, web2");
        hosts.get(1).put(VM, "web2.priority", "1");
        synchronizeAll();
        synchronizeAll();
        for (HostSettings host : hosts) {
            assertThat(host.shared(ENGINE)).containsExactly(Map.entry("partition.0x8001", "web1, web2"));
            assertThat(host.shared(VM)).containsEntry("web2.priority", "1");
        }
        hosts.get(2).remove(VM, "web2.priority");
        synchronizeAll();
        synchronizeAll();
        hosts.forEach(host -> assertThat(host.shared(VM)).doesNotContainKey("web2.priority"));
    }

    @Test
    @Order(3)
    void conflictingChangesEndInOneOfThemEverywhere() {
        for (int round = 0; round < 20; round++) {
            for (int i = 0; i < 3; i++) {
                hosts.get(i).put(VM, "web5.weight", Integer.toString(10 * round + i + 1));
            }
            synchronizeAll();
            synchronizeAll();
            String agreed = hosts.get(0).shared(VM).get("web5.weight");
            assertThat(List.of(10 * round + 1, 10 * round + 2, 10 * round + 3)).contains(Integer.parseInt(agreed));
            hosts.forEach(host -> assertThat(host.shared(VM)).containsEntry("web5.weight", agreed));
        }
    }

    /**
     * Seeded random histories: edits, removals and invalid values on random nodes, synchronized in random orders and
     * at random moments. Whatever the history, once every node has synchronized twice in a row all hold one state,
     * and it holds no value any check refuses.
     */
    @Test
    @Order(4)
    void randomHistoriesOfEditsAndSynchronizationsEndInOneValidState() {
        long seed = Long.getLong("vmrdma.seed", System.nanoTime());
        java.util.Random random = new java.util.Random(seed);
        String[] keys = {"web1.weight", "web2.weight", "web2.priority", "db.rate"};
        for (int history = 0; history < 30; history++) {
            for (int step = 0; step < 12; step++) {
                int host = random.nextInt(3);
                String key = keys[random.nextInt(keys.length)];
                switch (random.nextInt(4)) {
                    case 0 -> hosts.get(host).remove(VM, key);
                    case 1 -> hosts.get(host).put(VM, key, "5000");
                    default -> hosts.get(host).put(VM, key, Integer.toString(1 + random.nextInt(1000)));
                }
                if (random.nextBoolean()) {
                    mirrors.get(random.nextInt(3)).synchronize(VM);
                }
            }
            synchronizeAll();
            synchronizeAll();
            Map<String, String> agreed = hosts.get(0).shared(VM);
            for (HostSettings host : hosts) {
                assertThat(host.shared(VM)).as("seed %d history %d", seed, history).isEqualTo(agreed);
            }
            assertThat(hosts.get(0).refusal(VM, agreed)).as("seed %d", seed).isNull();
        }
    }

    @Test
    @Order(5)
    void aChangeThisNodesChecksRefuseGoesNowhereAndIsUndone() {
        Map<String, String> agreed = hosts.get(2).shared(VM);
        long invalidBefore = mirrors.get(2).invalid.get();
        hosts.get(2).put(VM, "web1.weight", "5000");
        mirrors.get(2).synchronize(VM);
        synchronizeAll();
        assertThat(mirrors.get(2).invalid.get()).isEqualTo(invalidBefore + 1);
        hosts.forEach(host -> assertThat(host.shared(VM)).isEqualTo(agreed));
    }

    @Test
    @Order(6)
    void aMemberLeftAloneRefusesChangesAndKeepsTheSettingsLastAgreed() throws InterruptedException {
        members.get(1).shutdown();
        members.get(2).shutdown();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (members.get(0).getSplitBrainProtectionService().getSplitBrainProtection(HazelcastConfig.MAJORITY)
                .hasMinimumSize() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        Map<String, String> agreed = hosts.get(0).shared(VM);
        hosts.get(0).put(VM, "web1.weight", "77");
        long refusedBefore = mirrors.get(0).refused.get();
        mirrors.get(0).synchronize(VM);
        assertThat(mirrors.get(0).refused.get()).isEqualTo(refusedBefore + 1);
        assertThat(hosts.get(0).shared(VM)).isEqualTo(agreed);
    }

    private static void synchronizeAll() {
        mirrors.forEach(SettingsMirror::synchronizeAll);
    }

    /** One host's configurations: every key, shared or local, by PID. */
    private static final class HostSettings implements LocalSettings {

        private final Map<String, Map<String, String>> pids = new HashMap<>();

        void put(String pid, String key, String value) {
            pids.computeIfAbsent(pid, p -> new TreeMap<>()).put(key, value);
        }

        void remove(String pid, String key) {
            pids.computeIfAbsent(pid, p -> new TreeMap<>()).remove(key);
        }

        Map<String, String> all(String pid) {
            return pids.getOrDefault(pid, Map.of());
        }

        @Override
        public Map<String, String> shared(String pid) {
            Map<String, String> shared = new TreeMap<>();
            all(pid).forEach((key, value) -> {
                if (SharedSettings.shared(pid, key)) {
                    shared.put(key, value);
                }
            });
            return shared;
        }

        /** As the engine's check: a weight is a whole number from 1 to 1000. */
        @Override
        public String refusal(String pid, Map<String, String> values) {
            for (Map.Entry<String, String> entry : values.entrySet()) {
                if (entry.getKey().endsWith(".weight") && !entry.getValue().matches("[1-9][0-9]{0,2}|1000")) {
                    return entry.getKey() + ": not a weight: " + entry.getValue();
                }
            }
            return null;
        }

        @Override
        public void replaceShared(String pid, Map<String, String> values) {
            Map<String, String> kept = new TreeMap<>();
            all(pid).forEach((key, value) -> {
                if (!SharedSettings.shared(pid, key)) {
                    kept.put(key, value);
                }
            });
            kept.putAll(values);
            pids.put(pid, kept);
        }
    }
}
