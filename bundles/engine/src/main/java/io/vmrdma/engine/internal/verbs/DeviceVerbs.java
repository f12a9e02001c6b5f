package io.vmrdma.engine.internal.verbs;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.CompletionQueue;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.ProtectionDomain;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpAttributes;
import io.vmrdma.api.verbs.QpInitAttributes;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.VerbsContext;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.engine.internal.status.Counters;

/**
 * One device of a domain: the verbs context of one guest process, as an RDMA NIC gives every process its own user
 * context. It owns the objects it made and its queue of connection-manager events; every handle passed in is
 * checked to be its own and alive, so one process cannot touch another's objects even in the same VM. Limits,
 * counters, scheduler settings and the wire's share belong to its {@link DomainVerbs}, all devices of the VM
 * together.
 */
final class DeviceVerbs implements VerbsContext, EventSource, BackendVerbs {

    private final VerbsEngine engine;
    private final DomainVerbs domain;
    private final int devid;
    private final long process;
    private final List<Pd> pds = new ArrayList<>();
    private final List<Cq> cqs = new ArrayList<>();
    private final List<Qp> qps = new ArrayList<>();
    private final List<Region> regions = new ArrayList<>();
    private final ArrayDeque<PendingCmEvent> cmEvents = new ArrayDeque<>();
    private long eventsAdded;
    private int nextHandle = 1;

    DeviceVerbs(VerbsEngine engine, DomainVerbs domain, int devid, long process) {
        this.engine = engine;
        this.domain = domain;
        this.devid = devid;
        this.process = process;
    }

    /** The VM this device belongs to. */
    DomainVerbs domain() {
        return domain;
    }

    @Override
    public int devid() {
        return devid;
    }

    /** The guest process using it, as its frontend tells it, or -1. */
    long process() {
        return process;
    }

    @Override
    public int domid() {
        return domain.domid();
    }

    /** The VM's name: partitions and settings follow it. */
    String name() {
        return domain.name();
    }

    /** The VM's counters: a device's traffic counts as its VM's. */
    Counters counters() {
        return domain.counters();
    }

    /** Its live queue pairs. */
    List<Qp> qps() {
        return qps;
    }

    /** Its live memory regions. */
    List<Region> regions() {
        return regions;
    }

    /** Whether its domain is paused for a migration. */
    boolean paused() {
        return domain.paused();
    }

    List<Pd> pds() {
        return pds;
    }

    List<Cq> cqs() {
        return cqs;
    }

    /** The next handle a protection domain or completion queue gets: handles travel with a migrating device. */
    int nextHandle() {
        return nextHandle;
    }

    // ----------------------------------------------------------------------------------------------------------
    // A device migrating here is rebuilt object by object, with the handles, keys and numbers it had, against this
    // node's limits.

    void restoreNextHandle(int handle) {
        nextHandle = handle;
    }

    Pd restorePd(int handle) throws VerbsException {
        domain.quota(domain.pdCount(), limits().maxPds(), "protection domains");
        Pd pd = new Pd(this, handle);
        pds.add(pd);
        domain.pdsChanged(1);
        return pd;
    }

    /** A completion queue with {@code handle}: a new one, or one that migrated here. */
    Cq restoreCq(int handle, int depth) throws VerbsException {
        if (depth < 1 || depth > limits().maxCqDepth()) {
            throw bad("completion queue depth must be 1.." + limits().maxCqDepth() + ", not " + depth);
        }
        domain.quota(domain.cqCount(), limits().maxCqs(), "completion queues");
        domain.chargeQueues(QueueMemory.ofCq(depth));
        Cq cq = new Cq(this, handle, depth);
        cqs.add(cq);
        domain.cqsChanged(1);
        return cq;
    }

    void restoreRegion(Pd pd, ByteBuffer memory, long address, int access, int lkey, int rkey, RegionGrants grants)
            throws VerbsException {
        checkRegion(memory, address, access);
        domain.chargeRegistration(memory.capacity());
        Region region;
        try {
            region = engine.restoreRegion(pd, memory, address, access, lkey, rkey, grants);
        } catch (VerbsException e) {
            domain.releaseRegistration(memory.capacity());
            throw e;
        }
        addRegion(region);
    }

    Qp restoreQp(int qpn, Pd pd, Cq sendCq, Cq recvCq, int maxSendWr, int maxRecvWr, int maxSge, boolean signalAll)
            throws VerbsException {
        return addQp(pd, sendCq, recvCq, maxSendWr, maxRecvWr, maxSge,
                () -> engine.restoreQp(this, qpn, pd, sendCq, recvCq, maxSendWr, maxRecvWr, maxSge, signalAll));
    }

    /**
     * Lets everything go without a word to anyone: the device runs on another node now (on the source), or its
     * migration failed before it ran here (on the destination). Its peers are not told, its work is not completed.
     */
    void discard() {
        for (Qp qp : qps) {
            qp.leaveConnection();
            engine.destroyQp(qp);
            domain.releaseQueues(QueueMemory.ofQp(qp.sq.capacity(), qp.rq.capacity()));
        }
        releaseAll();
    }

    private Limits limits() {
        return engine.limits();
    }

    @Override
    public ProtectionDomain allocPd() throws VerbsException {
        domain.quota(domain.pdCount(), limits().maxPds(), "protection domains");
        Pd pd = new Pd(this, nextHandle++);
        pds.add(pd);
        domain.pdsChanged(1);
        return pd;
    }

    @Override
    public void deallocPd(ProtectionDomain handle) throws VerbsException {
        Pd pd = own(handle);
        if (pd.users > 0) {
            throw new VerbsException(VerbsErrno.EBUSY,
                    pd + " is still used by " + pd.users + " regions or queue pairs");
        }
        pd.live = false;
        pds.remove(pd);
        domain.pdsChanged(-1);
    }

    @Override
    public MemoryRegion regMr(ProtectionDomain handle, ByteBuffer memory, long address, int access)
            throws VerbsException {
        return regMr(handle, memory, address, access, RegionGrants.NONE);
    }

    @Override
    public MemoryRegion regMr(ProtectionDomain handle, ByteBuffer memory, long address, int access,
                              RegionGrants grants)
            throws VerbsException {
        Pd pd = own(handle);
        checkRegion(memory, address, access);
        domain.chargeRegistration(memory.capacity());
        Region region = engine.registerRegion(pd, memory, address, access, grants);
        addRegion(region);
        return region;
    }

    @Override
    public int handleOf(CompletionQueue cq) {
        return ((Cq) cq).handle();
    }

    @Override
    public RegionGrants grantsOf(MemoryRegion region) {
        return ((Region) region).grants();
    }

    private void addRegion(Region region) {
        regions.add(region);
        domain.regionsChanged(1);
        region.pd().users++;
    }

    /** The checks a registration passes, here or on the node a migrating device comes from. */
    private void checkRegion(ByteBuffer memory, long address, int access) throws VerbsException {
        if (memory == null || !memory.isDirect()) {
            throw bad("a memory region must be a direct buffer over the domain's pages");
        }
        if (!AccessFlags.isValid(access)) {
            throw bad("invalid access flags " + access + " (REMOTE_WRITE needs LOCAL_WRITE)");
        }
        if (memory.capacity() == 0) {
            throw bad("a memory region cannot be empty");
        }
        if (Region.wraps(address, memory.capacity())) {
            throw bad("region at 0x" + Long.toHexString(address) + " wraps around the address space");
        }
        domain.quota(domain.regionCount(), limits().maxMrs(), "memory regions");
    }

    @Override
    public void deregMr(MemoryRegion handle) throws VerbsException {
        Region region = own(handle);
        engine.deregisterRegion(region);
        regions.remove(region);
        domain.regionsChanged(-1);
        domain.releaseRegistration(region.length());
        region.pd().users--;
    }

    @Override
    public CompletionQueue createCq(int depth) throws VerbsException {
        Cq cq = restoreCq(nextHandle, depth);
        nextHandle++;
        return cq;
    }

    @Override
    public void destroyCq(CompletionQueue handle) throws VerbsException {
        Cq cq = own(handle);
        if (cq.users > 0) {
            throw new VerbsException(VerbsErrno.EBUSY, cq + " is still used by " + cq.users + " queue pairs");
        }
        cq.live = false;
        cqs.remove(cq);
        domain.cqsChanged(-1);
        domain.releaseQueues(QueueMemory.ofCq(cq.depth()));
    }

    @Override
    public QueuePair createQp(QpInitAttributes attributes) throws VerbsException {
        Pd pd = own(attributes.pd());
        Cq sendCq = own(attributes.sendCq());
        Cq recvCq = own(attributes.recvCq());
        return addQp(pd, sendCq, recvCq, attributes.maxSendWr(), attributes.maxRecvWr(), attributes.maxSge(),
                () -> engine.createQp(this, pd, sendCq, recvCq, attributes));
    }

    /** How the engine makes a queue pair: with a fresh number, or with the one it had before it migrated. */
    private interface QpMaker {
        Qp make() throws VerbsException;
    }

    /** A queue pair {@code maker} makes once its sizes passed this node's limits and its queues are charged. */
    private Qp addQp(Pd pd, Cq sendCq, Cq recvCq, int maxSendWr, int maxRecvWr, int maxSge, QpMaker maker)
            throws VerbsException {
        Limits limits = limits();
        if (maxSendWr < 1 || maxSendWr > limits.maxQpWr() || maxRecvWr < 1 || maxRecvWr > limits.maxQpWr()) {
            throw bad("work queue sizes must be 1.." + limits.maxQpWr());
        }
        if (maxSge < 1 || maxSge > limits.maxSge()) {
            throw bad("maxSge must be 1.." + limits.maxSge() + ", not " + maxSge);
        }
        domain.quota(domain.qpCount(), limits.maxQps(), "queue pairs");
        long charge = QueueMemory.ofQp(maxSendWr, maxRecvWr);
        domain.chargeQueues(charge);
        Qp qp;
        try {
            qp = maker.make();
        } catch (VerbsException e) {
            domain.releaseQueues(charge);
            throw e;
        }
        qps.add(qp);
        domain.qpsChanged(1);
        pd.users++;
        sendCq.users++;
        recvCq.users++;
        return qp;
    }

    @Override
    public void modifyQp(QueuePair handle, QpAttributes attributes) throws VerbsException {
        engine.states().modify(own(handle), attributes);
    }

    @Override
    public void destroyQp(QueuePair handle) throws VerbsException {
        Qp qp = own(handle);
        engine.connections().destroying(qp);
        engine.destroyQp(qp);
        qps.remove(qp);
        domain.qpsChanged(-1);
        domain.releaseQueues(QueueMemory.ofQp(qp.sq.capacity(), qp.rq.capacity()));
        qp.pd().users--;
        qp.sendCq().users--;
        qp.recvCq().users--;
    }

    @Override
    public void listen(long serviceId) throws VerbsException {
        engine.connections().listen(this, serviceId);
    }

    @Override
    public void stopListening(long serviceId) throws VerbsException {
        engine.connections().stopListening(this, serviceId);
    }

    @Override
    public long connect(QueuePair qp, int node, long serviceId, int pkey, byte[] privateData)
            throws VerbsException {
        return engine.connections().connect(own(qp), node, serviceId, pkey, privateData);
    }

    @Override
    public void accept(long connectionId, QueuePair qp, byte[] privateData) throws VerbsException {
        engine.connections().accept(this, connectionId, own(qp), privateData);
    }

    @Override
    public void reject(long connectionId, String reason) throws VerbsException {
        engine.connections().reject(this, connectionId, reason);
    }

    @Override
    public void disconnect(QueuePair qp) throws VerbsException {
        engine.connections().disconnect(own(qp));
    }

    @Override
    public boolean pollCmEvent(CmEvent into) {
        PendingCmEvent event = paused() ? null : cmEvents.poll();
        if (event == null) {
            return false;
        }
        into.set(event.type, event.connectionId, event.serviceId, event.localQpn, event.remote, event.pkey,
                event.reason, event.privateData, event.privateData.length);
        return true;
    }

    @Override
    public long eventsAdded() {
        return eventsAdded;
    }

    /** A completion went into one of this domain's queues, or a connection event into its event queue. */
    void eventAdded() {
        eventsAdded++;
    }

    /** Connection events delivered and not yet polled. */
    int cmEventsWaiting() {
        return cmEvents.size();
    }

    void deliver(CmEventType type, long connectionId, long serviceId, int localQpn, QpAddress remote, int pkey,
                 String reason, byte[] privateData) {
        eventAdded();
        cmEvents.add(new PendingCmEvent(type, connectionId, serviceId, localQpn, remote, pkey, reason,
                privateData == null ? new byte[0] : privateData.clone()));
        domain.counters().increment(switch (type) {
            case CONNECT_REQUEST -> Counter.CM_CONNECT_REQUESTS;
            case ESTABLISHED -> Counter.CM_ESTABLISHED;
            case REJECTED -> Counter.CM_REJECTED;
            case UNREACHABLE -> Counter.CM_UNREACHABLE;
            case DISCONNECTED -> Counter.CM_DISCONNECTED;
        });
    }

    /**
     * Destroys everything this device made, as when its process closes it or dies: its connections close (peers see
     * DISCONNECTED), its queue pairs flush and go, its regions are deregistered; the domain's usage drops by as much.
     * The domain's other devices are not touched.
     */
    void close() {
        for (Qp qp : new ArrayList<>(qps)) {
            engine.connections().disconnect(qp);
            engine.destroyQp(qp);
            domain.releaseQueues(QueueMemory.ofQp(qp.sq.capacity(), qp.rq.capacity()));
        }
        releaseAll();
    }

    /** Its queue pairs destroyed: everything else it holds goes, and so do its listeners and requests. */
    private void releaseAll() {
        domain.qpsChanged(-qps.size());
        qps.clear();
        for (Region region : regions) {
            engine.deregisterRegion(region);
            domain.releaseRegistration(region.length());
        }
        domain.regionsChanged(-regions.size());
        regions.clear();
        for (Cq cq : cqs) {
            cq.live = false;
            domain.releaseQueues(QueueMemory.ofCq(cq.depth()));
        }
        domain.cqsChanged(-cqs.size());
        cqs.clear();
        pds.forEach(pd -> pd.live = false);
        domain.pdsChanged(-pds.size());
        pds.clear();
        engine.connections().forget(this);
    }

    private Pd own(ProtectionDomain handle) throws VerbsException {
        if (handle instanceof Pd pd && pd.owner() == this && pd.live) {
            return pd;
        }
        throw badHandle("protection domain", handle);
    }

    private Cq own(CompletionQueue handle) throws VerbsException {
        if (handle instanceof Cq cq && cq.owner() == this && cq.live) {
            return cq;
        }
        throw badHandle("completion queue", handle);
    }

    private Qp own(QueuePair handle) throws VerbsException {
        if (handle instanceof Qp qp && qp.owner() == this && qp.live) {
            return qp;
        }
        throw badHandle("queue pair", handle);
    }

    private Region own(MemoryRegion handle) throws VerbsException {
        if (handle instanceof Region region && region.pd().owner() == this && region.isLive()) {
            return region;
        }
        throw badHandle("memory region", handle);
    }

    private VerbsException badHandle(String what, Object handle) {
        domain.counters().increment(Counter.BAD_REQUESTS);
        return new VerbsException(VerbsErrno.EINVAL, "not a live " + what + " of " + this + ": " + handle);
    }

    private VerbsException bad(String message) {
        domain.counters().increment(Counter.BAD_REQUESTS);
        return new VerbsException(VerbsErrno.EINVAL, message);
    }

    @Override
    public String toString() {
        return "dom " + domain.domid() + " device " + devid + " (" + domain.name() + ")";
    }

    private record PendingCmEvent(CmEventType type, long connectionId, long serviceId, int localQpn,
                                  QpAddress remote, int pkey, String reason, byte[] privateData) {
    }
}
