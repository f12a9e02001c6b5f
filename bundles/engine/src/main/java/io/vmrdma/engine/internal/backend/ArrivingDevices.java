package io.vmrdma.engine.internal.backend;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.function.IntPredicate;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.VerbsContext;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantMapping;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.engine.internal.verbs.ArrivedObjects;
import io.vmrdma.engine.internal.verbs.BackendVerbs;
import io.vmrdma.engine.internal.verbs.DomainArrival;
import io.vmrdma.engine.internal.verbs.RegionGrants;

/**
 * The backend's side of a guest domain migrating to this node. The hypervisor moved the guest's memory and grant
 * table here before the engine rebuilds the domain, so each region's grants map here as they did on the source; the
 * devices the domain had wait, with their objects, for their frontends to reconnect once the guest resumes (each
 * frontend asks for its old device number), and their backends take them over instead of opening new devices.
 * Confined to the data agent's thread, as the engine's migrations are.
 */
final class ArrivingDevices implements DomainArrival {

    /** A region's grants mapped here, and the pages charged for them. */
    record Mapped(GrantMapping mapping, int pages) {
    }

    private final GrantMapper mapper;
    private final GrantBudget grants;
    private final IntPredicate domainHere;
    /** Regions of arriving domains mapped before their devices arrived, by domid, then by first grant ref. */
    private final Map<Integer, Map<Integer, Mapped>> mapped = new HashMap<>();
    /** Devices that arrived, waiting for their frontends, by {@link GuestBackends#key}. */
    private final Map<Long, GuestCommands> waiting = new HashMap<>();

    /** {@code domainHere}: whether the hypervisor of this node has a domain (its XenStore home exists). */
    ArrivingDevices(GrantMapper mapper, GrantBudget grants, IntPredicate domainHere) {
        this.mapper = mapper;
        this.grants = grants;
        this.domainHere = domainHere;
    }

    @Override
    public boolean hosts(int domid, String name) {
        return domainHere.test(domid);
    }

    @Override
    public ByteBuffer regionMemory(int domid, String name, long address, int length, int access,
                                   RegionGrants regionGrants) {
        int[] refs = regionGrants.refs();
        int offset = regionGrants.pageOffset();
        if (refs.length == 0 || offset < 0 || offset >= Hypervisor.PAGE_SIZE
                || refs.length != (offset + (long) length + Hypervisor.PAGE_SIZE - 1) / Hypervisor.PAGE_SIZE) {
            return null;
        }
        try {
            grants.reserveRegistration(domid, refs.length);
        } catch (VerbsException e) {
            return null;
        }
        try {
            boolean writable = (access & (AccessFlags.LOCAL_WRITE | AccessFlags.REMOTE_WRITE)) != 0;
            GrantMapping mapping = mapper.mapDomainGrantRefs(domid, refs, writable);
            Mapped previous = mapped.computeIfAbsent(domid, d -> new HashMap<>()).put(refs[0],
                    new Mapped(mapping, refs.length));
            if (previous != null) {
                release(domid, previous);
            }
            return mapping.buffer().slice(offset, length);
        } catch (XenException e) {
            grants.releaseRegistration(domid, refs.length);
            return null;
        }
    }

    @Override
    public void arrived(VerbsContext verbs, ArrivedObjects objects) {
        int domid = verbs.domid();
        int devid = ((BackendVerbs) verbs).devid();
        waiting.put(GuestBackends.key(domid, devid), GuestCommands.arrived(domid, verbs, objects, mapper, grants,
                mapped.getOrDefault(domid, new HashMap<>())));
        Map<Integer, Mapped> left = mapped.get(domid);
        if (left != null && left.isEmpty()) {
            mapped.remove(domid);
        }
    }

    @Override
    public void abandoned(int domid, String name) {
        Map<Integer, Mapped> regions = mapped.remove(domid);
        if (regions != null) {
            regions.values().forEach(m -> release(domid, m));
        }
        forget(domid);
    }

    /** The arrived device {@code devid} of {@code domid}, for the backend its frontend reconnected to; null if none. */
    GuestCommands take(int domid, int devid) {
        return waiting.remove(GuestBackends.key(domid, devid));
    }

    /** The domain is gone here: devices of it whose frontends never came back let go of their mappings. */
    void forget(int domid) {
        for (Iterator<Map.Entry<Long, GuestCommands>> it = waiting.entrySet().iterator(); it.hasNext();) {
            Map.Entry<Long, GuestCommands> e = it.next();
            if (e.getValue().context().domid() == domid) {
                e.getValue().releaseMappings();
                it.remove();
            }
        }
    }

    private void release(int domid, Mapped m) {
        try {
            m.mapping().close();
        } catch (XenException e) {
            // the grant stays pinned; nothing more this side can do
        }
        grants.releaseRegistration(domid, m.pages());
    }
}
