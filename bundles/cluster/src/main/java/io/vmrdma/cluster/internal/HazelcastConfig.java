package io.vmrdma.cluster.internal;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.config.SplitBrainProtectionConfig;
import com.hazelcast.splitbrainprotection.SplitBrainProtectionOn;

/**
 * The Hazelcast member a {@link ClusterSettings} asks for: listening on the bind address only, joining by the TCP-IP
 * member list (multicast and every cloud discovery off), a member silent for the timeout taken for gone, and the maps
 * that hold settings, node ids, seeds and rollouts writable only by a side that holds a majority of the members.
 * Reports stay writable everywhere: a minority side still says what it sees.
 */
final class HazelcastConfig {

    static final String MAJORITY = "vmrdma-majority";

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
                .setProtectOn(SplitBrainProtectionOn.WRITE));
        for (String protectedMap : new String[] {SettingsMirror.MAP_PREFIX + "*", NodeIdClaim.NODE_IDS,
            SettingsMirror.SEEDED, FeatureRollout.WANTED}) {
            config.addMapConfig(new MapConfig(protectedMap).setSplitBrainProtectionName(MAJORITY));
        }
        return config;
    }
}
