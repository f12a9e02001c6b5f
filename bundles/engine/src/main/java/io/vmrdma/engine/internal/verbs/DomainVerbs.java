package io.vmrdma.engine.internal.verbs;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Domain;
import io.vmrdma.api.DomainState;
import io.vmrdma.api.sched.TransmitQueue;
import io.vmrdma.api.sched.VmSettings;
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
 * One domain's verbs: the objects it owns, its usage against its limits, and its queue of connection-manager
 * events. Every handle a domain passes in is checked to be its own and alive before use.
 */
final class DomainVerbs implements VerbsContext, Domain, TransmitQueue, EventSource {

    private final VerbsEngine engine;
    private final int slot;
    private final int domid;
    private final String name;
    private final Counters counters;
    private final List<Pd> pds = new ArrayList<>();
    private final List<Cq> cqs = new ArrayList<>();
    private final List<Qp> qps = new ArrayList<>();
    private final List<Region> regions = new ArrayList<>();
    private final ArrayDeque<PendingCmEvent> cmEvents = new ArrayDeque<>();
    private long eventsAdded;
    private long registeredBytes;
    /** Heap charged for its queue pairs and completion queues ({@link QueueMemory}). */
    private long queueBytes;
    private int nextHandle = 1;
    private volatile DomainState state = DomainState.CONNECTED;
    /** Set while its state is on its way to another node (or just arrived, until the move commits). */
    private boolean paused;
    /** The node it is migrating to while it migrates, or -1; the console reads it. */
    private volatile int migratingTo = -1;

    /** Queue pairs of this domain with send work, served round-robin when the scheduler gives the domain a turn. */
    private final ArrayDeque<Qp> withSendWork = new ArrayDeque<>();
    private VmSettings settings;

    DomainVerbs(VerbsEngine engine, int slot, int domid, String name) {
        this.engine = engine;
        this.slot = slot;
        this.domid = domid;
        this.name = name;
        this.counters = new Counters(engine.counters());
    }

    /** A queue pair with send work joins the end of the domain's round-robin. */
    void queueSendWork(Qp qp) {
        withSendWork.add(qp);
    }

    /** The next queue pair of the round-robin, taken out of it. */
    Qp takeSendWork() {
        return withSendWork.poll();
    }

    int queuesWithSendWork() {
        return withSendWork.size();
    }

    boolean hasSendWork() {
        return !withSendWork.isEmpty();
    }

    /** The domain closed: its round-robin is emptied. */
    void dropSendWork() {
        withSendWork.clear();
    }

    /** Whether it is paused for a migration: it neither sends, nor receives, nor completes anything. */
    boolean paused() {
        return paused;
    }

    /** Pauses it for a migration to {@code node} (-1: it arrived and waits for the move to commit). */
    void pause(int node) {
        paused = true;
        migratingTo = node;
    }

    /** Ends the pause: the migration failed (on the source) or committed (on the destination). */
    void resume() {
        paused = false;
        migratingTo = -1;
    }

    @Override
    public int migratingTo() {
        return migratingTo;
    }

    List<Pd> pds() {
        return pds;
    }

    List<Cq> cqs() {
        return cqs;
    }

    /** The next handle a protection domain or completion queue gets: handles travel with a migrating domain. */
    int nextHandle() {
        return nextHandle;
    }

    // ----------------------------------------------------------------------------------------------------------
    // A domain migrating here is rebuilt object by object, with the handles, keys and numbers it had, against this
    // node's limits.

    void restoreNextHandle(int handle) {
        nextHandle = handle;
    }

    Pd restorePd(int handle) throws VerbsException {
        quota(pds.size(), limits().maxPds(), "protection domains");
        Pd pd = new Pd(this, handle);
        pds.add(pd);
        return pd;
    }

    /** A completion queue with {@code handle}: a new one, or one that migrated here. */
    Cq restoreCq(int handle, int depth) throws VerbsException {
        if (depth < 1 || depth > limits().maxCqDepth()) {
            throw bad("completion queue depth must be 1.." + limits().maxCqDepth() + ", not " + depth);
        }
        quota(cqs.size(), limits().maxCqs(), "completion queues");
        chargeQueues(QueueMemory.ofCq(depth));
        Cq cq = new Cq(this, handle, depth);
        cqs.add(cq);
        return cq;
    }

    void restoreRegion(Pd pd, ByteBuffer memory, long address, int access, int lkey, int rkey)
            throws VerbsException {
        checkRegion(memory, address, access);
        regions.add(engine.restoreRegion(pd, memory, address, access, lkey, rkey));
        registeredBytes += memory.capacity();
        pd.users++;
    }

    Qp restoreQp(int qpn, Pd pd, Cq sendCq, Cq recvCq, int maxSendWr, int maxRecvWr, int maxSge, boolean signalAll)
            throws VerbsException {
        return addQp(pd, sendCq, recvCq, maxSendWr, maxRecvWr, maxSge,
                () -> engine.restoreQp(this, qpn, pd, sendCq, recvCq, maxSendWr, maxRecvWr, maxSge, signalAll));
    }

    /**
     * Lets everything go without a word to anyone: the domain runs on another node now (on the source), or its
     * migration failed before it ran here (on the destination). Its peers are not told, its work is not completed.
     */
    void discard() {
        state = DomainState.CLOSING;
        for (Qp qp : qps) {
            qp.leaveConnection();
            engine.destroyQp(qp);
        }
        releaseAll();
    }

    /** The per-VM scheduling settings in force for this domain. */
    void applySettings(VmSettings inForce) {
        settings = inForce;
    }

    Counters counters() {
        return counters;
    }

    List<Qp> qps() {
        return qps;
    }

    /** Its live memory regions; on the data agent's thread only (the console reads them through VerbsSnapshots). */
    List<Region> regions() {
        return regions;
    }

    private Limits limits() {
        return engine.limits();
    }

    @Override
    public int domid() {
        return domid;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int slot() {
        return slot;
    }

    @Override
    public String domainName() {
        return name;
    }

    /** Bytes of send requests queued or under way, computed on demand (O(queued requests)); no policy needs it per frame. */
    @Override
    public long backlogBytes() {
        long bytes = 0;
        for (Qp qp : qps) {
            for (int i = 0; i < qp.sq.size(); i++) {
                SendWqe w = qp.sq.peek(i);
                bytes += w.sgl.totalLength() - w.done;
            }
        }
        return bytes;
    }

    @Override
    public VmSettings settings() {
        return settings;
    }

    @Override
    public DomainState state() {
        return state;
    }

    @Override
    public long counter(Counter counter) {
        return counters.get(counter);
    }

    @Override
    public ProtectionDomain allocPd() throws VerbsException {
        quota(pds.size(), limits().maxPds(), "protection domains");
        Pd pd = new Pd(this, nextHandle++);
        pds.add(pd);
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
    }

    @Override
    public MemoryRegion regMr(ProtectionDomain handle, ByteBuffer memory, long address, int access)
            throws VerbsException {
        Pd pd = own(handle);
        checkRegion(memory, address, access);
        Region region = engine.registerRegion(pd, memory, address, access);
        regions.add(region);
        registeredBytes += memory.capacity();
        pd.users++;
        return region;
    }

    /** The checks a registration passes, here or on the node a migrating domain comes from. */
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
        quota(regions.size(), limits().maxMrs(), "memory regions");
        if (registeredBytes + memory.capacity() > limits().maxRegisteredBytes()) {
            throw new VerbsException(VerbsErrno.EDQUOT, "dom " + domid + " would register "
                    + (registeredBytes + memory.capacity()) + " bytes, the limit is " + limits().maxRegisteredBytes());
        }
    }

    @Override
    public void deregMr(MemoryRegion handle) throws VerbsException {
        Region region = own(handle);
        engine.deregisterRegion(region);
        regions.remove(region);
        registeredBytes -= region.length();
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
        releaseQueues(QueueMemory.ofCq(cq.depth()));
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
        quota(qps.size(), limits.maxQps(), "queue pairs");
        long charge = QueueMemory.ofQp(maxSendWr, maxRecvWr);
        chargeQueues(charge);
        Qp qp;
        try {
            qp = maker.make();
        } catch (VerbsException e) {
            releaseQueues(charge);
            throw e;
        }
        qps.add(qp);
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
        releaseQueues(QueueMemory.ofQp(qp.sq.capacity(), qp.rq.capacity()));
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
        PendingCmEvent event = paused ? null : cmEvents.poll();
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
        counters.increment(switch (type) {
            case CONNECT_REQUEST -> Counter.CM_CONNECT_REQUESTS;
            case ESTABLISHED -> Counter.CM_ESTABLISHED;
            case REJECTED -> Counter.CM_REJECTED;
            case UNREACHABLE -> Counter.CM_UNREACHABLE;
            case DISCONNECTED -> Counter.CM_DISCONNECTED;
        });
    }

    /** Destroys everything the domain owns, as when its backend closes; queue pairs are flushed first. */
    void close() {
        state = DomainState.CLOSING;
        for (Qp qp : new ArrayList<>(qps)) {
            engine.connections().disconnect(qp);
            engine.destroyQp(qp);
        }
        releaseAll();
    }

    /** Its queue pairs destroyed: everything else it holds goes, and so do its listeners and requests. */
    private void releaseAll() {
        qps.clear();
        for (Region region : regions) {
            engine.deregisterRegion(region);
        }
        regions.clear();
        registeredBytes = 0;
        cqs.forEach(cq -> cq.live = false);
        cqs.clear();
        engine.queueMemory().release(queueBytes);
        queueBytes = 0;
        pds.forEach(pd -> pd.live = false);
        pds.clear();
        engine.connections().forget(this);
        state = DomainState.DESTROYED;
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
        counters.increment(Counter.BAD_REQUESTS);
        return new VerbsException(VerbsErrno.EINVAL, "not a live " + what + " of dom " + domid + ": " + handle);
    }

    private VerbsException bad(String message) {
        counters.increment(Counter.BAD_REQUESTS);
        return new VerbsException(VerbsErrno.EINVAL, message);
    }

    /**
     * Charges {@code bytes} of queue memory to this domain and the node, or refuses: EDQUOT past the domain's
     * limit, ENOMEM when the node's queue memory is spent (other domains hold it).
     */
    private void chargeQueues(long bytes) throws VerbsException {
        long limit = limits().maxQueueBytes();
        if (bytes > limit - queueBytes) {
            throw new VerbsException(VerbsErrno.EDQUOT, "dom " + domid + " would hold " + (queueBytes + bytes)
                    + " bytes of queues, the limit is " + limit + " (maxQueueBytes)");
        }
        if (!engine.queueMemory().reserve(bytes)) {
            throw new VerbsException(VerbsErrno.ENOMEM, "node " + engine.nodeId() + " has no queue memory left for "
                    + bytes + " bytes (" + engine.queueMemory().used() + " of " + engine.queueMemory().capacity()
                    + " in use)");
        }
        queueBytes += bytes;
    }

    private void releaseQueues(long bytes) {
        queueBytes -= bytes;
        engine.queueMemory().release(bytes);
    }

    /** Heap bytes charged for its queues, for the console and tests. */
    long queueBytes() {
        return queueBytes;
    }

    private void quota(int used, int limit, String what) throws VerbsException {
        if (used >= limit) {
            throw new VerbsException(VerbsErrno.EDQUOT, "dom " + domid + " has reached its limit of " + limit
                    + " " + what);
        }
    }

    @Override
    public String toString() {
        return "dom " + domid + " (" + name + ")";
    }

    private record PendingCmEvent(CmEventType type, long connectionId, long serviceId, int localQpn,
                                  QpAddress remote, int pkey, String reason, byte[] privateData) {
    }
}
