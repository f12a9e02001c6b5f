package io.vmrdma.cluster.internal;

import java.util.Comparator;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeMap;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;

/**
 * Which member's settings a cluster starts from when it holds none: a new cluster, or one whose members all stopped
 * (the maps live in the members' memory). Not simply the first member up: its {@code etc/} may be older than
 * another's, if it was down when the last change was made. Each member joining such a cluster offers its candidacy,
 * the versions of the settings it last agreed ({@link AgreedVersions}); once the live candidacies of a majority of
 * the configured members are in, the candidate with the newest version of a PID seeds it (among equals the lowest
 * node id), and the others adopt what it wrote. A member joining a cluster that holds settings adopts them.
 *
 * <p>Seeding takes two steps: the elected member takes the PID's seeding lock (so two members that counted
 * different candidacies never both write), writes its settings, then marks the PID seeded, which is what the
 * others wait for. A lock whose holder is gone is taken away, and the election runs again.
 */
final class SeedElection {

    static final String CANDIDATES = "vmrdma.seedCandidates";
    static final String SEEDING = "vmrdma.seeding";
    static final String SEEDED = "vmrdma.seeded";

    /** What a joining member does next with one PID. */
    enum Turn {
        /** The cluster holds the PID's settings: take them. */
        ADOPT,
        /** This member was elected and holds the lock: write its settings, then {@link #seeded}. */
        SEED,
        /** Candidacies or the elected member's settings are not in yet. */
        WAIT
    }

    private final HazelcastInstance cluster;
    private final int majority;

    SeedElection(HazelcastInstance cluster, int majority) {
        this.cluster = cluster;
        this.majority = majority;
    }

    /**
     * This member's turn for {@code pid}, its candidacy offered first.
     *
     * @throws com.hazelcast.splitbrainprotection.SplitBrainProtectionException without a majority
     */
    Turn turn(String pid, int nodeId, AgreedVersions versions) {
        IMap<String, String> seeded = cluster.getMap(SEEDED);
        if (seeded.containsKey(pid)) {
            return Turn.ADOPT;
        }
        String me = cluster.getCluster().getLocalMember().getUuid().toString();
        IMap<String, SeedCandidacy> candidates = cluster.getMap(CANDIDATES);
        candidates.set(me, new SeedCandidacy(me, nodeId, new TreeMap<>(versions.all())));
        Set<String> live = new HashSet<>();
        for (Member member : cluster.getCluster().getMembers()) {
            live.add(member.getUuid().toString());
        }
        IMap<String, String> seeding = cluster.getMap(SEEDING);
        String lock = seeding.get(pid);
        if (lock != null && !live.contains(lock)) {
            seeding.remove(pid, lock);
            return Turn.WAIT;
        }
        SeedCandidacy elected = candidates.values().stream().filter(c -> live.contains(c.memberUuid()))
                .max(Comparator.<SeedCandidacy>comparingLong(c -> c.version(pid))
                        .thenComparing(Comparator.comparingInt(SeedCandidacy::nodeId).reversed()))
                .orElseThrow();
        long counted = candidates.values().stream().filter(c -> live.contains(c.memberUuid())).count();
        if (counted < majority || !elected.memberUuid().equals(me)) {
            return Turn.WAIT;
        }
        String holder = seeding.putIfAbsent(pid, me);
        return holder == null || holder.equals(me) ? Turn.SEED : Turn.WAIT;
    }

    /** This member wrote its settings of {@code pid} into the cluster: the others may adopt them. */
    void seeded(String pid) {
        cluster.<String, String>getMap(SEEDED).set(pid, cluster.getCluster().getLocalMember().getUuid().toString());
    }
}
