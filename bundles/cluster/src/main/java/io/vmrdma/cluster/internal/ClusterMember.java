package io.vmrdma.cluster.internal;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.LifecycleEvent;
import com.hazelcast.map.IMap;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryRemovedListener;
import com.hazelcast.map.listener.EntryUpdatedListener;
import com.hazelcast.splitbrainprotection.SplitBrainProtection;
import io.vmrdma.api.ConfigurationCheck;
import io.vmrdma.api.Counter;
import io.vmrdma.api.DomainRegistry;
import io.vmrdma.api.Node;
import io.vmrdma.api.cluster.ClusterNode;
import io.vmrdma.api.cluster.ClusterView;
import org.apache.karaf.features.FeaturesService;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.cm.ConfigurationEvent;
import org.osgi.service.cm.ConfigurationListener;
import org.osgi.service.component.ComponentConstants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This dom0 as a member of the cluster, present only while {@code etc/io.vmrdma.cluster.cfg} is. All cluster work runs
 * on one thread ({@code vmrdma-cluster}): joining (a node id, confirmed to the engine, then the settings),
 * synchronizing settings on every change and once a second, installing wanted features and reporting this node. Map
 * events, configuration events and the console only hand it work, so the mirror's state needs no lock.
 */
@Component(service = {ClusterView.class, ConfigurationListener.class}, immediate = true,
        configurationPid = "io.vmrdma.cluster", configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = ClusterConfig.class)
public final class ClusterMember implements ClusterView, ConfigurationListener {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterMember.class);
    private static final long TICK_MILLIS = 1000;

    private final ClusterSettings settings;
    private final ConfigurationAdmin configurations;
    private final EngineIdentity engineId;
    private final NodeIdClaim ids;
    private final FeatureRollout rollout;
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(
            work -> new Thread(work, "vmrdma-cluster"));
    private volatile HazelcastInstance cluster;
    private volatile SettingsMirror mirror;
    private volatile int nodeId = -1;
    private volatile Node node;
    private volatile DomainRegistry domains;
    private final List<ConfigurationCheck> checks = new CopyOnWriteArrayList<>();

    @Activate
    public ClusterMember(ClusterConfig config, @Reference ConfigurationAdmin configurations,
                         @Reference ServiceComponentRuntime components, @Reference FeaturesService features,
                         BundleContext context) {
        try {
            this.settings = ClusterSettings.parse(config);
        } catch (IllegalArgumentException e) {
            LOG.error("configuration io.vmrdma.cluster refused, this node stays standalone: {}", e.getMessage());
            throw e;
        }
        this.configurations = configurations;
        this.engineId = new EngineIdentity(configurations, components, context);
        this.ids = new NodeIdClaim(settings.stateDirectory());
        this.rollout = new FeatureRollout(features);
        thread.execute(this::start);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    void bindNode(Node bound) {
        node = bound;
    }

    void unbindNode(Node bound) {
        if (node == bound) {
            node = null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    void bindDomains(DomainRegistry bound) {
        domains = bound;
    }

    void unbindDomains(DomainRegistry bound) {
        if (domains == bound) {
            domains = null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addCheck(ConfigurationCheck check) {
        checks.add(check);
    }

    void removeCheck(ConfigurationCheck check) {
        checks.remove(check);
    }

    /** Leaves the cluster; for good when its configuration was deleted, which makes the engine standalone again. */
    @Deactivate
    void stop(int reason) throws InterruptedException {
        thread.shutdownNow();
        thread.awaitTermination(10, TimeUnit.SECONDS);
        HazelcastInstance member = cluster;
        if (member != null) {
            member.shutdown();
        }
        engineId.release(reason == ComponentConstants.DEACTIVATION_REASON_CONFIGURATION_DELETED);
        LOG.info("cluster: left; this node keeps the settings last agreed");
    }

    private void start() {
        engineId.leaveToCluster();
        HazelcastInstance member = Hazelcast.newHazelcastInstance(
                HazelcastConfig.of(settings, ClusterMember.class.getClassLoader()));
        cluster = member;
        for (String pid : SharedSettings.PIDS) {
            SettingsMirror.map(member, pid).addEntryListener(new Changes(() -> synchronize(pid)), false);
        }
        FeatureRollout.wanted(member).addEntryListener(new Changes(() -> thread.execute(this::installWanted)), false);
        member.getLifecycleService().addLifecycleListener(event -> {
            if (event.getState() == LifecycleEvent.LifecycleState.MERGED) {
                LOG.info("cluster: split healed, taking the cluster's settings");
                thread.execute(this::synchronizeAll);
            }
        });
        mirror = new SettingsMirror(member, new ConfigurationAdminSettings(configurations, checks),
                new AgreedVersions(settings.stateDirectory()), settings.majority());
        LOG.info("cluster {}: member {} of {} listed, {} needed to change settings", settings.name(),
                settings.bindAddress(), settings.members().size(), settings.majority());
        thread.scheduleWithFixedDelay(this::tick, 0, TICK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * Once a second: join if not joined yet, else (on a side with a majority, the only one that may read the cluster's
     * settings) catch up with anything an event missed; then report.
     */
    private void tick() {
        try {
            if (nodeId < 0 || !mirror.joined()) {
                join();
            } else if (hasMajority()) {
                mirror.synchronizeAll();
                installWanted();
            }
            report();
        } catch (RuntimeException e) {
            LOG.warn("cluster: {}", e.toString());
        }
    }

    private void join() {
        if (!hasMajority()) {
            return;
        }
        if (nodeId < 0) {
            int id = ids.claim(cluster, engineId.configured());
            engineId.confirm(id);
            nodeId = id;
            LOG.info("cluster: this is node {}", id);
        }
        if (mirror.join(nodeId)) {
            installWanted();
        }
    }

    private void synchronize(String pid) {
        if (thread.isShutdown()) {
            return;
        }
        thread.execute(() -> {
            if (mirror != null) {
                mirror.synchronize(pid);
            }
        });
    }

    private void synchronizeAll() {
        if (mirror != null && mirror.joined()) {
            mirror.synchronizeAll();
        }
    }

    private void installWanted() {
        if (mirror != null && mirror.joined()) {
            rollout.installWanted(cluster);
        }
    }

    @Override
    public void configurationEvent(ConfigurationEvent event) {
        if (SharedSettings.PIDS.contains(event.getPid())) {
            synchronize(event.getPid());
        }
    }

    private void report() {
        if (nodeId < 0) {
            return;
        }
        Node engine = node;
        DomainRegistry registry = domains;
        String policy = engine == null ? "-" : engine.activePolicy().orElse("built-in rr");
        MemberReport mine = new MemberReport(nodeId, cluster.getCluster().getLocalMember().getUuid().toString(),
                settings.bindAddress() + ":" + settings.port(), policy,
                registry == null ? 0 : registry.domains().size(),
                engine == null ? 0 : engine.counter(Counter.FRAMES_SENT),
                engine == null ? 0 : engine.counter(Counter.FRAMES_RECEIVED),
                SecretFingerprint.of(Path.of(System.getProperty("karaf.etc", "etc"), "io.vmrdma.cluster.secret")),
                rollout.outcomes());
        reports().set(nodeId, mine);
    }

    private IMap<Integer, MemberReport> reports() {
        return cluster.getMap(MemberReport.REPORTS);
    }

    @Override
    public List<ClusterNode> nodes() {
        HazelcastInstance member = cluster;
        if (member == null) {
            return List.of();
        }
        Set<String> live = new HashSet<>();
        for (Member each : member.getCluster().getMembers()) {
            live.add(each.getUuid().toString());
        }
        List<ClusterNode> nodes = new ArrayList<>();
        for (MemberReport report : reports().values()) {
            ClusterNode.State state = report.nodeId() == nodeId ? ClusterNode.State.SELF
                    : live.contains(report.memberUuid()) ? ClusterNode.State.UP : ClusterNode.State.GONE;
            nodes.add(new ClusterNode(report.nodeId(), report.address(), state, report.policy(), report.domains(),
                    report.framesSent(), report.framesReceived(), report.secret()));
        }
        nodes.sort(Comparator.comparingInt(ClusterNode::nodeId));
        return nodes;
    }

    @Override
    public int configuredMembers() {
        return settings.members().size();
    }

    @Override
    public boolean hasMajority() {
        HazelcastInstance member = cluster;
        if (member == null) {
            return false;
        }
        SplitBrainProtection majority = member.getSplitBrainProtectionService()
                .getSplitBrainProtection(HazelcastConfig.MAJORITY);
        return majority.hasMinimumSize() && member.getCluster().getMembers().size() >= settings.majority();
    }

    @Override
    public Map<Integer, String> rollOut(String feature, Optional<URI> repository, Duration timeout)
            throws InterruptedException {
        if (!hasMajority()) {
            throw new IllegalStateException("this side of the network has no majority of the "
                    + settings.members().size() + " members: no rollout");
        }
        String request = UUID.randomUUID().toString();
        FeatureRollout.wanted(cluster).set(feature,
                new RolloutRequest(request, repository.map(URI::toString).orElse(null)));
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<Integer, String> outcomes = new TreeMap<>();
        while (true) {
            outcomes.clear();
            boolean all = true;
            Set<String> live = new HashSet<>();
            cluster.getCluster().getMembers().forEach(m -> live.add(m.getUuid().toString()));
            for (MemberReport report : reports().values()) {
                if (!live.contains(report.memberUuid())) {
                    continue;
                }
                String outcome = report.outcome(feature, request);
                all &= outcome != null;
                outcomes.put(report.nodeId(), outcome == null ? "pending" : outcome);
            }
            if ((all && outcomes.size() >= live.size()) || System.nanoTime() > deadline) {
                return outcomes;
            }
            Thread.sleep(200);
        }
    }

    @Override
    public Map<String, Long> counters() {
        Map<String, Long> counters = new LinkedHashMap<>();
        SettingsMirror settingsMirror = mirror;
        counters.put("changes published", settingsMirror == null ? 0 : settingsMirror.published.get());
        counters.put("changes applied", settingsMirror == null ? 0 : settingsMirror.applied.get());
        counters.put("changes refused without majority", settingsMirror == null ? 0 : settingsMirror.refused.get());
        counters.put("changes refused as invalid", settingsMirror == null ? 0 : settingsMirror.invalid.get());
        counters.put("engine restarts for a node id", engineId.restarts());
        return counters;
    }

    /** Any change of a map's entries, as one piece of work. */
    private record Changes(Runnable work)
            implements
                EntryAddedListener<Object, Object>,
                EntryUpdatedListener<Object, Object>,
                EntryRemovedListener<Object, Object> {

        @Override
        public void entryAdded(com.hazelcast.core.EntryEvent<Object, Object> event) {
            work.run();
        }

        @Override
        public void entryUpdated(com.hazelcast.core.EntryEvent<Object, Object> event) {
            work.run();
        }

        @Override
        public void entryRemoved(com.hazelcast.core.EntryEvent<Object, Object> event) {
            work.run();
        }
    }
}
