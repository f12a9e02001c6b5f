package io.vmrdma.engine.internal.verbs;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.vmrdma.api.Counter;
import io.vmrdma.api.DeviceInfo;
import io.vmrdma.api.Domain;
import io.vmrdma.api.DomainState;
import io.vmrdma.api.sched.TransmitQueue;
import io.vmrdma.api.sched.VmSettings;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.engine.internal.status.Counters;

/**
 * One domain's verbs: its devices (one per guest process that opened one, {@link DeviceVerbs}), its usage of the
 * per-domain limits by all of them together, its counters, and its place in the scheduler, whose unit is the VM:
 * the queue pairs of all its devices take turns within the domain's share of the wire.
 */
final class DomainVerbs implements Domain, TransmitQueue {

    private final VerbsEngine engine;
    private final int slot;
    private final int domid;
    private final String name;
    private final Counters counters;
    /** Its devices by device number. */
    private final Map<Integer, DeviceVerbs> devices = new TreeMap<>();
    /** What the console sees of them: remade on the agent's thread when one opens or closes. */
    private volatile List<DeviceInfo> deviceInfos = List.of();
    private int pdCount;
    private int cqCount;
    private int qpCount;
    private int regionCount;
    private long registeredBytes;
    /** Heap charged for its queue pairs and completion queues ({@link QueueMemory}). */
    private long queueBytes;
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

    /** Whether it is paused for a migration: none of its devices sends, receives or completes anything. */
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

    /** Its devices in device-number order; on the data agent's thread only. */
    List<DeviceVerbs> openDevices() {
        return List.copyOf(devices.values());
    }

    /**
     * Lets every device go without a word to anyone: the domain runs on another node now (on the source), or its
     * migration failed before it ran here (on the destination).
     */
    void discard() {
        state = DomainState.CLOSING;
        devices.values().forEach(DeviceVerbs::discard);
        devices.clear();
        describeDevices();
        state = DomainState.DESTROYED;
    }

    /** The per-VM scheduling settings in force for this domain. */
    void applySettings(VmSettings inForce) {
        settings = inForce;
    }

    Counters counters() {
        return counters;
    }

    /** The queue pairs of all its devices; on the data agent's thread only. */
    List<Qp> qps() {
        List<Qp> all = new ArrayList<>();
        devices.values().forEach(d -> all.addAll(d.qps()));
        return all;
    }

    /** The live memory regions of all its devices; on the data agent's thread only (see VerbsSnapshots). */
    List<Region> regions() {
        List<Region> all = new ArrayList<>();
        devices.values().forEach(d -> all.addAll(d.regions()));
        return all;
    }

    /**
     * Opens device {@code devid}: a new verbs context drawing on this domain's limits. EEXIST when it is open, EDQUOT
     * when the domain has {@link VerbsEngine#maxDevices()} open.
     *
     * @param process the guest process using it as its frontend tells it, or -1
     */
    DeviceVerbs openDevice(int devid, long process) throws VerbsException {
        if (devices.containsKey(devid)) {
            throw new VerbsException(VerbsErrno.EEXIST, this + " device " + devid + " is already open");
        }
        quota(devices.size(), engine.maxDevices(), "devices (maxDevices)");
        DeviceVerbs device = new DeviceVerbs(engine, this, devid, process);
        devices.put(devid, device);
        describeDevices();
        return device;
    }

    /** Closes one device: only what it made goes. */
    void closeDevice(int devid) {
        DeviceVerbs device = devices.remove(devid);
        if (device != null) {
            device.close();
            describeDevices();
        }
    }

    private void describeDevices() {
        List<DeviceInfo> infos = new ArrayList<>();
        devices.values().forEach(d -> infos.add(new DeviceInfo(d.devid(), d.process())));
        deviceInfos = List.copyOf(infos);
    }

    @Override
    public List<DeviceInfo> devices() {
        return deviceInfos;
    }

    /** Device numbers open now, in order. */
    List<Integer> deviceNumbers() {
        return List.copyOf(devices.keySet());
    }

    boolean hasDevices() {
        return !devices.isEmpty();
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
        for (DeviceVerbs device : devices.values()) {
            for (Qp qp : device.qps()) {
                for (int i = 0; i < qp.sq.size(); i++) {
                    SendWqe w = qp.sq.peek(i);
                    bytes += w.sgl.totalLength() - w.done;
                }
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

    /** Destroys everything every device of the domain made, as when its last backend closes. */
    void close() {
        state = DomainState.CLOSING;
        for (int devid : deviceNumbers()) {
            closeDevice(devid);
        }
        state = DomainState.DESTROYED;
    }

    int pdCount() {
        return pdCount;
    }

    int cqCount() {
        return cqCount;
    }

    int qpCount() {
        return qpCount;
    }

    int regionCount() {
        return regionCount;
    }

    void pdsChanged(int by) {
        pdCount += by;
    }

    void cqsChanged(int by) {
        cqCount += by;
    }

    void qpsChanged(int by) {
        qpCount += by;
    }

    void regionsChanged(int by) {
        regionCount += by;
    }

    /** Charges a registration to the domain, or refuses it (EDQUOT) past the domain's registered-bytes limit. */
    void chargeRegistration(long bytes) throws VerbsException {
        long limit = engine.limits().maxRegisteredBytes();
        if (registeredBytes + bytes > limit) {
            throw new VerbsException(VerbsErrno.EDQUOT, this + " would register " + (registeredBytes + bytes)
                    + " bytes, the limit is " + limit);
        }
        registeredBytes += bytes;
    }

    void releaseRegistration(long bytes) {
        registeredBytes -= bytes;
    }

    /**
     * Charges {@code bytes} of queue memory to this domain and the node, or refuses: EDQUOT past the domain's
     * limit, ENOMEM when the node's queue memory is spent (other domains hold it).
     */
    void chargeQueues(long bytes) throws VerbsException {
        long limit = engine.limits().maxQueueBytes();
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

    void releaseQueues(long bytes) {
        queueBytes -= bytes;
        engine.queueMemory().release(bytes);
    }

    /** Heap bytes charged for its queues, for the console and tests. */
    long queueBytes() {
        return queueBytes;
    }

    void quota(int used, int limit, String what) throws VerbsException {
        if (used >= limit) {
            throw new VerbsException(VerbsErrno.EDQUOT, "dom " + domid + " has reached its limit of " + limit
                    + " " + what);
        }
    }

    @Override
    public String toString() {
        return "dom " + domid + " (" + name + ")";
    }
}
