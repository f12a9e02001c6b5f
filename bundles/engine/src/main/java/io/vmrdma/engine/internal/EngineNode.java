package io.vmrdma.engine.internal;

import java.util.Optional;

import io.vmrdma.api.Node;
import io.vmrdma.api.nic.NicPort;
import io.vmrdma.api.sched.SchedulingPolicy;
import io.vmrdma.api.xen.Hypervisor;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
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
 * dynamically, so each may come, go or be replaced while the engine runs.
 */
@Component(
        service = Node.class,
        immediate = true,
        configurationPid = "io.vmrdma.engine")
@Designate(ocd = EngineConfig.class)
public final class EngineNode implements Node {

    private static final Logger LOG = LoggerFactory.getLogger(EngineNode.class);

    private final PolicySelector policies;
    private volatile int nodeId;
    private volatile NicPort nic;
    private volatile Hypervisor hypervisor;

    @Activate
    public EngineNode(EngineConfig engine, @Reference PolicySelector policies) {
        this.nodeId = engine.nodeId();
        this.policies = policies;
        LOG.info("vmrdma node {} started (protocol {})", nodeId, PROTOCOL_VERSION);
    }

    @Modified
    void modified(EngineConfig engine) {
        if (engine.nodeId() != nodeId) {
            LOG.info("node id changed from {} to {}", nodeId, engine.nodeId());
            nodeId = engine.nodeId();
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindNic(NicPort port) {
        nic = port;
        LOG.info("NIC binding '{}' bound on {}", port.binding(), port.interfaceName());
    }

    void unbindNic(NicPort port) {
        if (nic == port) {
            nic = null;
            LOG.info("NIC binding '{}' unbound", port.binding());
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindHypervisor(Hypervisor xen) {
        hypervisor = xen;
        LOG.info("Xen access '{}' bound", xen.kind());
    }

    void unbindHypervisor(Hypervisor xen) {
        if (hypervisor == xen) {
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
    public Optional<String> hypervisor() {
        Hypervisor xen = hypervisor;
        return xen == null ? Optional.empty() : Optional.of(xen.kind());
    }

    @Override
    public Optional<String> activePolicy() {
        return policies.active().map(SchedulingPolicy::name);
    }
}
