package io.vmrdma.engine.internal;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Domain;
import io.vmrdma.api.DomainMigration;
import io.vmrdma.api.DomainRegistry;
import io.vmrdma.api.MemoryRegionInfo;
import io.vmrdma.api.Node;
import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.PeerRegistry;
import io.vmrdma.api.QueuePairInfo;
import io.vmrdma.api.VerbsInventory;
import io.vmrdma.api.cluster.NodeIdConfirmation;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.NicPort;
import io.vmrdma.api.sched.SchedulingPolicy;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.engine.internal.auth.ClusterSecret;
import io.vmrdma.engine.internal.auth.FrameKeys;
import io.vmrdma.engine.internal.backend.GuestBackends;
import io.vmrdma.engine.internal.config.EngineConfig;
import io.vmrdma.engine.internal.config.EngineSettings;
import io.vmrdma.engine.internal.config.NicChoice;
import io.vmrdma.engine.internal.congestion.CongestionSettings;
import io.vmrdma.engine.internal.sched.DomainSettingsBook;
import io.vmrdma.engine.internal.sched.EngineSchedulerSource;
import io.vmrdma.engine.internal.sched.PolicySelector;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import io.vmrdma.engine.internal.verbs.VerbsSnapshots;
import org.agrona.concurrent.AgentRunner;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine of this node as a DS component. NIC binding, Xen access and scheduling policies are bound
 * dynamically, so each may come, go or be replaced while the engine runs. Every NIC binding installed is tracked;
 * the engine sends through the one configuration names ({@code nic}), and switches when that changes. With
 * {@code nodeIdConfirmedBy = cluster} it uses none until the cluster confirms its node id.
 */
@Component(
        service = {Node.class, DomainRegistry.class, PeerRegistry.class, VerbsInventory.class, DomainMigration.class},
        immediate = true,
        configurationPid = "io.vmrdma.engine")
@Designate(ocd = EngineConfig.class)
public final class EngineNode implements Node, DomainRegistry, PeerRegistry, VerbsInventory, DomainMigration {

    private static final Logger LOG = LoggerFactory.getLogger(EngineNode.class);

    private final PolicySelector policies;
    private final VerbsEngine verbs;
    private final DataAgent dataAgent;
    private final AgentRunner dataAgentRunner;
    private final int nodeId;
    /** The cluster secret frames are authenticated with, null while {@code auth = off}; written under DS's calls. */
    private byte[] secretInForce;
    private volatile boolean discovery = true;
    /** The congestion control peers get; written under DS's calls. */
    private CongestionSettings congestionInForce = CongestionSettings.DEFAULTS;
    private volatile NicPort nic;
    /** Every NIC binding installed, with its binding name; guarded by itself. */
    private final Map<NicPort, String> nics = new LinkedHashMap<>();
    /** The binding configuration asks for; guarded by {@link #nics}. */
    private String configuredNic = NicChoice.DEFAULT;
    /** Whether configuration leaves the node id to the cluster ({@code nodeIdConfirmedBy = cluster}). */
    private volatile boolean idFromCluster;
    /** Whether the cluster confirmed {@link #nodeId}: once it has, for this engine's life (a new id restarts it). */
    private volatile boolean idConfirmed;
    private volatile Hypervisor hypervisor;
    private GuestBackends backends;
    private final WakeableIdleStrategy idle = new WakeableIdleStrategy();

    /**
     * Starts the node: the verbs engine and its data agent, which sleeps when idle (up to 1 ms, a sleep a guest's
     * notification ends early; with a NIC bound, after spinning and yielding) so that engines and guests share cores.
     */
    @Activate
    public EngineNode(EngineConfig engine, Map<String, Object> properties, @Reference PolicySelector policies,
                      @Reference DomainSettingsBook settings) {
        EngineSettings first;
        try {
            first = EngineSettings.parse(engine, properties);
            if (first.auth()) {
                clusterSecret();
            }
        } catch (IllegalArgumentException | IllegalStateException e) {
            // No settings in force yet to keep: the engine waits for a configuration it can run with (a corrected
            // file reactivates it).
            LOG.error("configuration io.vmrdma.engine refused, the engine does not start: {}", e.getMessage());
            throw e;
        }
        this.nodeId = first.nodeId();
        this.policies = policies;
        this.verbs = new VerbsEngine(nodeId, System::nanoTime, null);
        verbs.scheduling(new EngineSchedulerSource(policies, settings));
        this.dataAgent = new DataAgent(verbs);
        idle.waiter(dataAgent::awaitWork);
        idle.framesOrDescriptor(dataAgent::awaitWorkOr);
        apply(first);
        this.dataAgentRunner = new AgentRunner(idle,
                error -> LOG.error("data agent of node {} failed", nodeId, error), null, dataAgent);
        AgentRunner.startOnThread(dataAgentRunner);
        LOG.info("vmrdma node {} started (protocol {})", nodeId, PROTOCOL_VERSION);
    }

    @Modified
    void modified(EngineConfig engine, Map<String, Object> properties) {
        EngineSettings settings;
        try {
            settings = EngineSettings.parse(engine, properties);
            if (settings.auth()) {
                clusterSecret();
            }
            // Checked and made here, before anything changes: the limits are applied all at once or not at all.
            limits(settings);
        } catch (IllegalArgumentException | IllegalStateException e) {
            LOG.error("configuration io.vmrdma.engine refused, previous settings stay: {}", e.getMessage());
            return;
        }
        if (settings.nodeId() != nodeId) {
            LOG.warn("node id change from {} to {} takes effect when the engine restarts", nodeId, settings.nodeId());
        }
        applyChecked(settings);
    }

    /** Applies the first configuration; a bad limit is refused with one log line and the defaults stay. */
    private void apply(EngineSettings settings) {
        try {
            limits(settings);
        } catch (IllegalArgumentException e) {
            LOG.error("configuration io.vmrdma.engine refused, default settings stay: {}", e.getMessage());
            return;
        }
        applyChecked(settings);
    }

    /** Makes the limits in force: all of them, or none when one is out of range (IllegalArgumentException). */
    private void limits(EngineSettings settings) {
        verbs.limits(settings.maxPds(), settings.maxCqs(), settings.maxQps(), settings.maxMrs(),
                settings.maxRegisteredBytes(), settings.maxCqDepth(), settings.maxQpWr(), settings.maxSge(),
                settings.maxMessageBytes(), settings.maxQueueBytes());
        verbs.maxGrantPages(settings.maxGrantPages());
        verbs.maxDevices(settings.maxDevices());
        long nodeQueueBytes = settings.maxNodeQueueBytes();
        dataAgent.runAndWait(() -> verbs.maxNodeQueueBytes(nodeQueueBytes));
    }

    /** Applies what {@link EngineSettings} checked, limits already in force: chunk, partitions, peers, NIC. */
    private void applyChecked(EngineSettings settings) {
        verbs.chunkBytes(settings.chunkBytes());
        verbs.partitions(settings.partitions());
        Map<Integer, LinkAddress> peers = settings.peers();
        dataAgent.runAndWait(() -> verbs.staticPeers(peers));
        wire(settings);
        LOG.info("partitions: {}; static peers: {}; NIC binding: {}", settings.partitions().isEmpty()
                ? "none configured, every domain in 0x7fff" : settings.partitions(), peers, settings.nic());
        synchronized (nics) {
            configuredNic = settings.nic();
            idFromCluster = settings.nodeIdFromCluster();
            selectNic();
        }
    }

    /** The cluster secret in Karaf's {@code etc/}, made there on the first start (IllegalStateException if unfit). */
    private static byte[] clusterSecret() {
        return ClusterSecret.loadOrCreate(Path.of(System.getProperty("karaf.etc", "etc"), ClusterSecret.FILE_NAME));
    }

    /**
     * Frame authentication and discovery as configured. New keys only when the secret or the switch changed: each
     * change makes every peer answer a challenge again.
     */
    private void wire(EngineSettings settings) {
        byte[] secret = settings.auth() ? clusterSecret() : null;
        if (!Arrays.equals(secret, secretInForce)) {
            FrameKeys keys = secret == null ? null : new FrameKeys(secret);
            dataAgent.runAndWait(() -> verbs.authentication(keys));
            secretInForce = secret;
            if (secret == null) {
                LOG.warn("frame authentication off (auth = off): any host on the link can forge frames of this node's "
                        + "peers; only for a fabric no one else reaches");
            } else {
                LOG.info("frames authenticated with keys from the cluster secret ({})", ClusterSecret.FILE_NAME);
            }
        }
        boolean discover = settings.discovery();
        dataAgent.runAndWait(() -> verbs.discovery(discover));
        discovery = discover;
        CongestionSettings congestion = settings.congestion();
        if (!congestion.equals(congestionInForce)) {
            // Only on a change: every peer's window starts afresh.
            dataAgent.runAndWait(() -> verbs.congestion(congestion));
            congestionInForce = congestion;
            LOG.info("congestion control: {}", congestion);
        }
    }

    /**
     * Sends through the installed binding configuration names, or none: switches on the data agent, and returns
     * once it has let go of the previous port (whose provider may free its buffers next). None while the cluster has
     * not confirmed the node id: peers pin an id to the address they first hear it from, so a HELLO under an id the
     * cluster then gives to another host would send that host's traffic here. Holds {@link #nics}.
     */
    private void selectNic() {
        NicPort chosen = null;
        for (Map.Entry<NicPort, String> entry : nics.entrySet()) {
            if (entry.getValue().equals(configuredNic)) {
                chosen = entry.getKey();
                break;
            }
        }
        if (awaitingNodeId()) {
            if (chosen != null && nic == null) {
                LOG.info("node {} stays off the wire until the cluster confirms its node id", nodeId);
            }
            chosen = null;
        }
        NicPort previous = nic;
        if (chosen == previous) {
            return;
        }
        NicPort next = chosen;
        dataAgent.runAndWait(() -> {
            verbs.nic(next);
            idle.wirePolled(next != null);
        });
        nic = next;
        if (next != null) {
            LOG.info("NIC binding '{}' in use on {}", configuredNic, next.interfaceName());
        } else if (previous != null) {
            LOG.info("NIC binding '{}' no longer in use; '{}' is not installed: no frame leaves this node until it is",
                    previous.binding(), configuredNic);
        }
    }

    /** Stops the data agent; the engine's state (queue pairs, regions) goes with this component. */
    @Deactivate
    void deactivate() {
        dataAgent.runAndWait(this::closeBackends);
        dataAgent.closing();
        dataAgentRunner.close();
        LOG.info("vmrdma node {} stopped", nodeId);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindNic(NicPort port, Map<String, Object> properties) {
        Object name = properties.get(NicPort.BINDING_PROPERTY);
        String binding = name == null ? port.binding() : String.valueOf(name);
        synchronized (nics) {
            nics.put(port, binding);
            LOG.info("NIC binding '{}' available on {}{}", binding, port.interfaceName(),
                    binding.equals(configuredNic) ? "" : " (configuration asks for '" + configuredNic + "')");
            selectNic();
        }
    }

    void unbindNic(NicPort port) {
        synchronized (nics) {
            String binding = nics.remove(port);
            // Returns only once the data agent has let go of the port: its provider frees the buffers next.
            selectNic();
            LOG.info("NIC binding '{}' gone", binding);
        }
    }

    /** The cluster confirmed a node id: when it is this engine's, the engine goes on the wire. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindConfirmation(NodeIdConfirmation confirmation) {
        if (confirmation.nodeId() != nodeId) {
            return;
        }
        synchronized (nics) {
            if (!idConfirmed) {
                idConfirmed = true;
                LOG.info("the cluster confirmed node id {}", nodeId);
                selectNic();
            }
        }
    }

    /**
     * The cluster member stopped. The engine stays on the wire: the id stays this node's in the cluster's claims,
     * and a new id would come with a restart of the engine.
     */
    void unbindConfirmation(NodeIdConfirmation confirmation) {
        if (confirmation.nodeId() == nodeId) {
            LOG.info("the cluster's confirmation of node id {} withdrawn; the id stays in force", nodeId);
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindHypervisor(Hypervisor xen) {
        hypervisor = xen;
        dataAgent.runAndWait(() -> {
            closeBackends();
            try {
                backends = new GuestBackends(xen, verbs);
                dataAgent.backends(backends);
                idle.doorbell(backends);
                // Domains migrating here get their memory from this hypervisor, through their copied grants.
                verbs.migrations().arrival(backends.arrivals());
            } catch (io.vmrdma.api.xen.XenException e) {
                LOG.error("guest backends cannot start on Xen access '{}': {}", xen.kind(), e.getMessage());
            }
        });
        LOG.info("Xen access '{}' bound", xen.kind());
    }

    /** Closes the guests' backends (on the data agent): guests see them close; mappings go before Xen access. */
    private void closeBackends() {
        if (backends != null) {
            verbs.migrations().arrival(null);
            idle.doorbell(null);
            dataAgent.backends(null);
            backends.close();
            backends = null;
        }
    }

    void unbindHypervisor(Hypervisor xen) {
        if (hypervisor == xen) {
            dataAgent.runAndWait(this::closeBackends);
            hypervisor = null;
            LOG.info("Xen access '{}' unbound", xen.kind());
        }
    }

    @Override
    public int nodeId() {
        return nodeId;
    }

    @Override
    public Optional<String> nicBinding() {
        NicPort port = nic;
        return port == null ? Optional.empty() : Optional.of(port.binding());
    }

    @Override
    public Map<String, Long> nicCounters() {
        NicPort port = nic;
        return port == null ? Map.of() : port.bindingCounters();
    }

    @Override
    public boolean framesAuthenticated() {
        return verbs.authenticated();
    }

    @Override
    public boolean discovery() {
        return discovery;
    }

    @Override
    public boolean awaitingNodeId() {
        return idFromCluster && !idConfirmed;
    }

    @Override
    public Optional<String> hypervisor() {
        Hypervisor xen = hypervisor;
        return xen == null ? Optional.empty() : Optional.of(xen.kind());
    }

    @Override
    public List<Domain> domains() {
        return verbs.domains();
    }

    @Override
    public Optional<Domain> byDomid(int domid) {
        return verbs.domain(domid);
    }

    @Override
    public Optional<Domain> byName(String name) {
        return verbs.domains().stream().filter(d -> d.name().equals(name)).findFirst();
    }

    @Override
    public void migrate(String domain, int node, Listener listener) {
        Optional<Domain> target = byName(domain).or(() -> domain.matches("\\d{1,5}")
                ? byDomid(Integer.parseInt(domain)) : Optional.empty());
        if (target.isEmpty()) {
            listener.failed("no domain '" + domain + "' on node " + nodeId);
            return;
        }
        dataAgent.runAndWait(() -> {
            try {
                verbs.migrations().migrate(target.get().domid(), node, listener);
            } catch (VerbsException e) {
                listener.failed(e.getMessage());
            }
        });
    }

    @Override
    public List<PeerInfo> peers() {
        return verbs.peers();
    }

    @Override
    public Optional<PeerInfo> byNode(int node) {
        return verbs.peers().stream().filter(p -> p.node() == node).findFirst();
    }

    @Override
    public Optional<String> activePolicy() {
        return policies.active().map(SchedulingPolicy::name);
    }

    @Override
    public long counter(Counter counter) {
        return verbs.counter(counter);
    }

    @Override
    public List<QueuePairInfo> queuePairs() {
        AtomicReference<List<QueuePairInfo>> snapshot = new AtomicReference<>();
        dataAgent.runAndWait(() -> snapshot.set(VerbsSnapshots.queuePairs(verbs)));
        return snapshot.get();
    }

    @Override
    public List<MemoryRegionInfo> memoryRegions() {
        AtomicReference<List<MemoryRegionInfo>> snapshot = new AtomicReference<>();
        dataAgent.runAndWait(() -> snapshot.set(VerbsSnapshots.memoryRegions(verbs)));
        return snapshot.get();
    }
}
