package io.vmrdma.cluster.internal;

import java.util.EnumSet;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import org.apache.karaf.features.Feature;
import org.apache.karaf.features.FeaturesService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Features the cluster wants on every node. A rollout is an entry in the cluster's map, feature name to request id;
 * each node installs every wanted feature once per request (joining late included) and says how it went in its
 * {@link MemberReport}. A node that fails says why and the others go on.
 */
final class FeatureRollout {

    static final String WANTED = "vmrdma.rollout";
    private static final Logger LOG = LoggerFactory.getLogger(FeatureRollout.class);

    private final FeaturesService features;
    /** feature → "request:outcome" of this node's last attempt. */
    private final Map<String, String> outcomes = new ConcurrentHashMap<>();

    FeatureRollout(FeaturesService features) {
        this.features = features;
    }

    static IMap<String, String> wanted(HazelcastInstance cluster) {
        return cluster.getMap(WANTED);
    }

    /** Installs every wanted feature this node has not tried for its current request; called from one thread. */
    void installWanted(HazelcastInstance cluster) {
        for (Map.Entry<String, String> entry : new TreeMap<>(wanted(cluster)).entrySet()) {
            String feature = entry.getKey();
            String request = entry.getValue();
            String last = outcomes.get(feature);
            if (last == null || !last.startsWith(request + ":")) {
                outcomes.put(feature, request + ":" + install(feature));
            }
        }
    }

    private String install(String name) {
        try {
            Feature feature = features.getFeature(name);
            if (feature == null) {
                return "failed: no feature " + name + " in this node's repositories";
            }
            if (!features.isInstalled(feature)) {
                // No refresh of bundles already running: it could restart this very bundle mid-install.
                features.installFeature(name, EnumSet.of(FeaturesService.Option.NoAutoRefreshBundles));
            }
            LOG.info("cluster: feature {} installed", name);
            return "installed";
        } catch (Exception e) {
            LOG.warn("cluster: feature {} failed to install: {}", name, e.toString());
            String reason = String.valueOf(e.getMessage()).replace('\n', ' ');
            return "failed: " + (reason.length() > 200 ? reason.substring(0, 200) : reason);
        }
    }

    /** This node's outcomes as {@link MemberReport#rollouts()} lists them. */
    String outcomes() {
        StringBuilder lines = new StringBuilder();
        new TreeMap<>(outcomes).forEach((feature, outcome) -> lines.append(feature).append('=').append(outcome)
                .append('\n'));
        return lines.toString();
    }
}
