package io.vmrdma.cluster.internal;

import java.net.URI;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import org.apache.karaf.features.Feature;
import org.apache.karaf.features.FeaturesService;
import org.osgi.framework.Version;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Features the cluster wants on every node. A rollout is an entry in the cluster's map, feature to
 * {@link RolloutRequest}; each node installs every wanted feature once per request (joining late included) and says
 * how it went in its {@link MemberReport}. A feature is wanted by name, {@code NAME} (its newest version in the node's
 * repositories) or {@code NAME/VERSION}; when another version of it is installed, the node updates it to the wanted
 * one. A node that fails says why and the others go on.
 *
 * <p>Any member can ask for a rollout, and the cluster's port does not authenticate its members: a repository is
 * taken only from Karaf's Maven resolution ({@code mvn:}, the repositories this node is configured with) or this
 * node's own files ({@code file:}), never fetched from a URL a request names.
 */
final class FeatureRollout {

    static final String WANTED = "vmrdma.rollout";
    private static final Logger LOG = LoggerFactory.getLogger(FeatureRollout.class);
    private static final int MAX_REASON = 200;
    private static final Set<String> REPOSITORY_SCHEMES = Set.of("mvn", "file");

    private final FeaturesService features;
    /** feature → "request:outcome" of this node's last attempt. */
    private final Map<String, String> outcomes = new ConcurrentHashMap<>();

    FeatureRollout(FeaturesService features) {
        this.features = features;
    }

    static IMap<String, RolloutRequest> wanted(HazelcastInstance cluster) {
        return cluster.getMap(WANTED);
    }

    /** Installs every wanted feature this node has not tried for its current request; called from one thread. */
    void installWanted(HazelcastInstance cluster) {
        for (Map.Entry<String, RolloutRequest> entry : new TreeMap<>(wanted(cluster)).entrySet()) {
            String feature = entry.getKey();
            RolloutRequest request = entry.getValue();
            String last = outcomes.get(feature);
            if (last == null || !last.startsWith(request.id() + ":")) {
                outcomes.put(feature, request.id() + ":" + install(feature, request.repository()));
            }
        }
    }

    /** Installs or updates {@code wanted}: {@code installed}, {@code updated from OLD to NEW}, {@code failed: why}. */
    private String install(String wanted, String repository) {
        try {
            if (repository != null) {
                URI uri = URI.create(repository);
                if (!REPOSITORY_SCHEMES.contains(uri.getScheme())) {
                    return "failed: repository " + repository + " refused: only mvn: or file: repositories";
                }
                features.addRepository(uri);
            }
            String[] nameVersion = wanted.split("/", 2);
            Feature feature = nameVersion.length == 2 ? features.getFeature(nameVersion[0], nameVersion[1])
                    : newest(features.getFeatures(wanted));
            if (feature == null) {
                return "failed: no feature " + wanted + " in this node's repositories";
            }
            if (features.isInstalled(feature)) {
                return "installed";
            }
            List<String> older = new ArrayList<>();
            for (Feature installed : features.listInstalledFeatures()) {
                if (installed.getName().equals(feature.getName())) {
                    older.add(installed.getVersion());
                }
            }
            // No refresh of bundles already running: it could restart this very bundle mid-install. An update
            // replaces the version installed (Upgrade), rather than running both.
            EnumSet<FeaturesService.Option> options = EnumSet.of(FeaturesService.Option.NoAutoRefreshBundles);
            if (!older.isEmpty()) {
                options.add(FeaturesService.Option.Upgrade);
            }
            features.installFeature(feature.getName(), feature.getVersion(), options);
            String outcome = older.isEmpty() ? "installed"
                    : "updated from " + String.join(", ", older) + " to " + feature.getVersion();
            LOG.info("cluster: feature {}: {}", wanted, outcome);
            return outcome;
        } catch (Exception e) {
            LOG.warn("cluster: feature {} failed to install: {}", wanted, e.toString());
            String reason = String.valueOf(e.getMessage()).replace('\n', ' ');
            return "failed: " + (reason.length() > MAX_REASON ? reason.substring(0, MAX_REASON) : reason);
        }
    }

    private static Feature newest(Feature[] candidates) {
        Feature newest = null;
        Comparator<Feature> byVersion = Comparator.comparing(f -> Version.parseVersion(f.getVersion()));
        for (Feature candidate : candidates == null ? new Feature[0] : candidates) {
            if (newest == null || byVersion.compare(candidate, newest) > 0) {
                newest = candidate;
            }
        }
        return newest;
    }

    /** This node's outcomes as {@link MemberReport#rollouts()} lists them. */
    String outcomes() {
        StringBuilder lines = new StringBuilder();
        new TreeMap<>(outcomes).forEach((feature, outcome) -> lines.append(feature).append('=').append(outcome)
                .append('\n'));
        return lines.toString();
    }
}
