package io.vmrdma.xen.sim.internal;

import java.io.IOException;
import java.util.List;

import io.vmrdma.api.xen.DomainControl;
import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.Designate;

/**
 * The simulated hypervisor as a DS component: dom0's {@link Hypervisor} ({@code vmrdma.xen.kind=sim}) and the
 * toolstack's {@link DomainControl}. A configuration change restarts it, like rebooting the host: guests end.
 * DS unregisters both services before {@link #deactivate()} runs, so no consumer still holds the service when
 * the simulator releases the memory it handed out.
 */
@Component(service = {Hypervisor.class, DomainControl.class}, configurationPid = "io.vmrdma.xen.sim",
        property = Hypervisor.KIND_PROPERTY + "=sim")
@Designate(ocd = SimConfig.class)
public final class XenSimComponent implements Hypervisor, DomainControl {

    private final SimHypervisor hv;

    @Activate
    public XenSimComponent(SimConfig config) throws IOException, XenException {
        this.hv = SimHypervisor.start(SimSettings.of(config));
    }

    @Deactivate
    void deactivate() {
        hv.close();
    }

    @Override
    public String kind() {
        return "sim";
    }

    @Override
    public int selfDomid() {
        return 0;
    }

    @Override
    public GrantMapper openGrantMapper() {
        return hv.dom0().openGrantMapper();
    }

    @Override
    public GrantSharer openGrantSharer() {
        return hv.dom0().openGrantSharer();
    }

    @Override
    public EventChannel openEventChannel() throws XenException {
        return hv.dom0().openEventChannel();
    }

    @Override
    public XenStore openXenStore() throws XenException {
        return hv.dom0().openXenStore();
    }

    @Override
    public int create(String name, long memoryBytes) throws XenException {
        return hv.create(name, memoryBytes);
    }

    @Override
    public long start(int domid, List<String> command) throws XenException {
        return hv.start(domid, command);
    }

    @Override
    public void destroy(int domid) throws XenException {
        hv.destroy(domid);
    }

    @Override
    public List<DomainInfo> list() {
        return hv.list();
    }
}
