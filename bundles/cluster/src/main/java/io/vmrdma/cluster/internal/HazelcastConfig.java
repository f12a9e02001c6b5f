package io.vmrdma.cluster.internal;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.MergePolicyConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.config.SplitBrainProtectionConfig;
import com.hazelcast.spi.merge.DiscardMergePolicy;
import com.hazelcast.splitbrainprotection.SplitBrainProtectionOn;

/**
 * The Hazelcast member a {@link ClusterSettings} asks for: listening on the bind address only, joining by the TCP-IP
 * member list (multicast and every cloud discovery off), a member silent for the timeout taken for gone, and the maps
 * that hold settings, node ids, seeds and rollouts readable and writable only by a side that holds a majority of the
 * members. Reports stay writable everywhere: a minority side still says what it sees.
 *
 * <p>Reads need the majority too: a side cut off holds only the partitions it had replicas of, so its copy of a map
 * misses entries, and a node applying that copy would lose settings. When a split heals, the smaller side merges
 * into the larger, and its entries are discarded: only a side with a majority could write (the larger one), so its
 * maps are the agreed state, and a key it deleted during the split must not come back from the other side's copy
 * (Hazelcast's default, put-if-absent, would bring it back). Each entry has as many synchronous backups as the
 * members a majority may lose, so no minority takes an entry's last copy away with it (Hazelcast's default, one
 * backup, loses entries when two of five are cut off).
 */
final class HazelcastConfig {

    static final String MAJORITY = "vmrdma-majority";
    static final String[] PROTECTED_MAPS = {SettingsMirror.MAP_PREFIX + "*", NodeIdClaim.NODE_IDS,
        AgreedVersions.CLUSTER_VERSIONS, SeedElection.CANDIDATES, SeedElection.SEEDING, SeedElection.SEEDED,
        FeatureRollout.WANTED};

    private HazelcastConfig() {
    }

    static Config of(ClusterSettings settings, ClassLoader classes) {
        Config config = new Config();
        config.setClusterName(settings.name());
        config.setInstanceName("vmrdma-" + settings.bindAddress() + "-" + settings.port());
        // Our classes (the reports) come from this bundle, not from Hazelcast's.
        config.setClassLoader(classes);
        config.setProperty("hazelcast.logging.type", "slf4j");
        config.setProperty("hazelcast.phone.home.enabled", "false");
        config.setProperty("hazelcast.shutdownhook.enabled", "false");
        config.setProperty("hazelcast.socket.bind.any", "false");
        config.setProperty("hazelcast.local.localAddress", settings.bindAddress());
        config.setProperty("hazelcast.wait.seconds.before.join", "1");
        config.setProperty("hazelcast.heartbeat.interval.seconds", "1");
        config.setProperty("hazelcast.max.no.heartbeat.seconds", Integer.toString(settings.memberTimeoutSeconds()));
        // A healed split merges within seconds, not Hazelcast's default five minutes.
        config.setProperty("hazelcast.merge.first.run.delay.seconds", "5");
        config.setProperty("hazelcast.merge.next.run.delay.seconds", "5");
        config.getJetConfig().setEnabled(false);

        NetworkConfig network = config.getNetworkConfig();
        network.setPort(settings.port()).setPortAutoIncrement(false);
        network.getInterfaces().setEnabled(true).addInterface(settings.bindAddress());
        JoinConfig join = network.getJoin();
        join.getMulticastConfig().setEnabled(false);
        join.getAutoDetectionConfig().setEnabled(false);
        join.getTcpIpConfig().setEnabled(true).setMembers(settings.members());

        config.addSplitBrainProtectionConfig(new SplitBrainProtectionConfig(MAJORITY, true, settings.majority())
                .setProtectOn(SplitBrainProtectionOn.READ_WRITE));
        int backups = backupsFor(settings);
        for (String protectedMap : PROTECTED_MAPS) {
            config.addMapConfig(new MapConfig(protectedMap).setSplitBrainProtectionName(MAJORITY)
                    .setBackupCount(backups)
                    .setMergePolicyConfig(new MergePolicyConfig().setPolicy(DiscardMergePolicy.class.getName())));
        }
        return config;
    }

    /**
     * Copies of each entry besides its owner's: as many as members a majority can lose, so the side that goes on
     * holds every entry whichever minority is cut off (one of three, two of five), up to Hazelcast's limit.
     */
    static int backupsFor(ClusterSettings settings) {
        return Math.min(MapConfig.MAX_BACKUP_COUNT, settings.members().size() - settings.majority());
    }
}
