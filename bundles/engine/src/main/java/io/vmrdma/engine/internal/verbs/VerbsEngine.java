package io.vmrdma.engine.internal.verbs;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.LongSupplier;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Domain;
import io.vmrdma.api.guest.GuestAbi;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpInitAttributes;
import io.vmrdma.api.verbs.VerbsContext;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.engine.internal.status.Counters;
import io.vmrdma.engine.internal.transport.Peer;
import io.vmrdma.engine.internal.transport.WireTransport;
import org.agrona.collections.Int2ObjectHashMap;

/**
 * The verbs of one node: the tables that resolve keys, queue pair numbers and domains, the node's limits, and the
 * duty cycle, which receives frames, runs the connection manager's timers, gives the {@link SendScheduler}'s turns
 * and lets the transport send what is due. Queue pair states are the {@link QpStateMachine}'s. Confined to one thread
 * (the data agent), except the read-only views {@link #domains()} and {@link #counters()} that the console uses.
 */
public final class VerbsEngine {

    /** Largest queue pair number (24 bits, as in InfiniBand). */
    static final int MAX_QPN = 0xFFFFFF;
    private static final int QPN_BITS = 24;
    private static final int KEY_QUARANTINE = 65_536;
    private static final int QPN_QUARANTINE = 4096;

    private final int nodeId;
    private final LongSupplier clock;
    private final KeyGenerator keys;
    /** Queue pair numbers are on the wire in every frame: as unpredictable as keys, so none is worth guessing. */
    private final KeyGenerator qpns;
    private final Counters counters = new Counters();
    private final Int2ObjectHashMap<Region> byLkey = new Int2ObjectHashMap<>();
    private final Int2ObjectHashMap<Region> byRkey = new Int2ObjectHashMap<>();
    private final Int2ObjectHashMap<Qp> qps = new Int2ObjectHashMap<>();
    private final Map<Integer, DomainVerbs> domains = new ConcurrentSkipListMap<>();
    /** The transport's memory accesses, one at a time. */
    private final SgCursor wireCursor = new SgCursor();
    private final RequestProcessor processor = new RequestProcessor(this);
    private final ConnectionManager connections;
    private final WireTransport transport;
    private final SendScheduler sender;
    private final QpStateMachine states;
    private final MigrationManager migrations;
    private final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(VerbsEngine.class);
    private volatile Limits limits = Limits.DEFAULTS;
    /** Xen 4.17's default maptrack table: 1024 frames of 256 mappings. */
    private volatile long maxGrantPages = 262_144;
    private volatile int maxDevices = 16;
    private final QueueMemory queueMemory = new QueueMemory(defaultNodeQueueBytes());
    private volatile PartitionTable partitions = PartitionTable.DEFAULT;
    private long rnrDelayNanos = 10_000;

    /**
     * @param clock        nanosecond clock for timers (System::nanoTime in production; a manual clock in tests)
     * @param keySeed      seed for memory keys, or null for keys from the operating system's entropy
     */
    public VerbsEngine(int nodeId, LongSupplier clock, Long keySeed) {
        this.nodeId = nodeId;
        this.clock = clock;
        this.keys = keySeed == null ? new KeyGenerator(KEY_QUARANTINE, 32)
                : new KeyGenerator(keySeed, KEY_QUARANTINE, 32);
        this.qpns = keySeed == null ? new KeyGenerator(QPN_QUARANTINE, QPN_BITS)
                : new KeyGenerator(~keySeed, QPN_QUARANTINE, QPN_BITS);
        this.connections = new ConnectionManager(this, 5_000_000_000L);
        this.transport = new WireTransport(nodeId, counters, log, qps::get);
        this.transport.connections(connections::onWire);
        this.sender = new SendScheduler(clock, domains, processor, transport);
        this.states = new QpStateMachine(this, processor, sender,
                new io.vmrdma.engine.internal.status.LogBudget(log, "engine failures", 1, 1_000_000_000L, clock));
        this.sender.states(states);
        this.migrations = new MigrationManager(this);
        this.transport.migrations(migrations::onWire);
    }

    SendScheduler sender() {
        return sender;
    }

    RequestProcessor processor() {
        return processor;
    }

    /** Domain migrations to and from this node (docs/migration.md). */
    public MigrationManager migrations() {
        return migrations;
    }

    QpStateMachine states() {
        return states;
    }

    SgCursor wireCursor() {
        return wireCursor;
    }

    org.slf4j.Logger log() {
        return log;
    }

    WireTransport transport() {
        return transport;
    }

    /**
     * Binds the NIC port frames go through, or none (null): while none is bound, retransmission and retry timers
     * pause. Called on the data agent's thread.
     */
    public void nic(io.vmrdma.api.nic.NicPort port) {
        transport.port(port);
    }

    /**
     * Sleeps until a frame may have arrived on the bound NIC port or {@link #wake} was called, at most
     * {@code timeoutNanos}; parks while none is bound. The data agent's wait when it has nothing to do.
     */
    public void awaitFrames(long timeoutNanos) {
        transport.awaitFrames(timeoutNanos);
    }

    /**
     * Sleeps until a frame arrives or {@code fd} has something to read, at most {@code timeoutNanos}; false, having
     * slept not at all, without a NIC port that can wait on both.
     */
    public boolean awaitFramesOr(int fd, long timeoutNanos) {
        return transport.awaitFramesOr(fd, timeoutNanos);
    }

    /**
     * Nanoseconds until this node's duty cycle has something due by time, at most {@code capNanos}: the agent's sleep
     * when it has nothing to do. 0 while a queue pair, a connection request or a migration exists (their
     * retransmission, receiver-not-ready, rate, repeat and timeout timers are microseconds to milliseconds apart; the
     * agent then keeps to its idle strategy's short sleeps); otherwise the transport's next peer timer (hello,
     * liveness, discovery), a second apart.
     */
    public long nanosUntilDue(long capNanos) {
        if (serving()) {
            return 0;
        }
        return Math.min(capNanos, transport.nanosUntilDue(now()));
    }

    /**
     * Whether this node serves anything whose timers run on the idle strategy's short sleeps: a queue pair, a
     * connection request (sent or received) or a migration.
     */
    private boolean serving() {
        return !qps.isEmpty() || connections.inFlight() || migrations.inFlight();
    }

    /**
     * Whether {@link #awaitFrames} ends both when a frame arrives and when {@link #wake} is called, so that the agent
     * may sleep in it until {@link #nanosUntilDue}; the agent's thread.
     */
    public boolean wakeable() {
        return transport.wakeable();
    }

    /** Ends an {@link #awaitFrames} in progress on the bound port, or the next one; any thread. */
    public void wake() {
        transport.wake();
    }

    /** Adds a node to the static peer table: frames to {@code node} go to {@code address}. */
    public void peer(int node, io.vmrdma.api.nic.LinkAddress address) {
        if (node == nodeId || node < 0 || node > 0xFFFF) {
            throw new IllegalArgumentException("peer node id must be 0..65535 and not this node's: " + node);
        }
        transport.peer(node, address);
    }

    /**
     * Makes {@code table} the static peer table (see {@link WireTransport#staticPeers}): changed entries replaced,
     * removed ones gone, discovered peers kept unless named. Called on the data agent's thread.
     *
     * @throws IllegalArgumentException for this node's own id or one outside 0..65535, before anything changes
     */
    public void staticPeers(Map<Integer, io.vmrdma.api.nic.LinkAddress> table) {
        for (int node : table.keySet()) {
            if (node == nodeId || node < 0 || node > 0xFFFF) {
                throw new IllegalArgumentException("peer node id must be 0..65535 and not this node's: " + node);
            }
        }
        transport.staticPeers(table);
    }

    /**
     * Authenticates every frame with keys from the cluster's secret (docs/wire-protocol.md §8), or none (null:
     * {@code auth = off}). Called on the data agent's thread.
     */
    public void authentication(io.vmrdma.engine.internal.auth.FrameKeys keys) {
        transport.authentication(keys == null ? null : new io.vmrdma.engine.internal.auth.NodeAuth(keys, nodeId));
    }

    /** Whether frames are authenticated now; any thread. */
    public boolean authenticated() {
        return transport.authenticated();
    }

    /** Congestion control of every peer, as configured; windows start afresh. Data agent's thread. */
    public void congestion(io.vmrdma.engine.internal.congestion.CongestionSettings settings) {
        transport.congestion(settings);
    }

    /** Whether HELLOs find nodes beyond the static peer table ({@code discovery = on}). Data agent's thread. */
    public void discovery(boolean on) {
        transport.discovery(on);
    }

    /** Every peer, static and discovered, in node order: a snapshot any thread may take. */
    public List<io.vmrdma.api.PeerInfo> peers() {
        return transport.peerInfos(clock.getAsLong());
    }

    /** Whether {@code node} has answered a hello with our protocol version. */
    public boolean peerUp(int node) {
        Peer peer = transport.peers().get(node);
        return peer != null && peer.up();
    }

    public int nodeId() {
        return nodeId;
    }

    long now() {
        return clock.getAsLong();
    }

    Counters counters() {
        return counters;
    }

    /** The node's own counter value. */
    public long counter(Counter counter) {
        return counters.get(counter);
    }

    Limits limits() {
        return limits;
    }

    QueueMemory queueMemory() {
        return queueMemory;
    }

    PartitionTable partitions() {
        return partitions;
    }

    ConnectionManager connections() {
        return connections;
    }

    long rnrDelayNanos() {
        return rnrDelayNanos;
    }

    /** Registered bytes one domain may hold (its registrations are charged whole pages by the guest backend). */
    public long maxRegisteredBytes() {
        return limits.maxRegisteredBytes();
    }

    /**
     * Sets the heap all domains' queue pairs and completion queues may take together; 0 for the default, half the
     * heap (the rest is the engine's, the mappings' bookkeeping and the console's). Call on the data agent's thread.
     */
    public void maxNodeQueueBytes(long bytes) {
        queueMemory.capacity(bytes == 0 ? defaultNodeQueueBytes() : bytes);
    }

    private static long defaultNodeQueueBytes() {
        return Runtime.getRuntime().maxMemory() / 2;
    }

    /** Guest grant pages dom0 may hold mapped for all domains together. */
    public long maxGrantPages() {
        return maxGrantPages;
    }

    /** Sets {@link #maxGrantPages()}; mappings already held are kept. */
    public void maxGrantPages(long pages) {
        if (pages < 1) {
            throw new IllegalArgumentException("maxGrantPages must be at least 1, not " + pages);
        }
        maxGrantPages = pages;
    }

    /** Devices (guest processes) one domain may have open at once. */
    public int maxDevices() {
        return maxDevices;
    }

    /** Sets {@link #maxDevices()}, 1..256; devices already open are kept. */
    public void maxDevices(int devices) {
        if (devices < 1 || devices > GuestAbi.MAX_DEVICE_NUMBER + 1) {
            throw new IllegalArgumentException("maxDevices must be 1.." + (GuestAbi.MAX_DEVICE_NUMBER + 1) + ", not "
                    + devices);
        }
        maxDevices = devices;
    }

    /** Sets the per-domain limits; objects already made are kept. */
    public void limits(int maxPds, int maxCqs, int maxQps, int maxMrs, long maxRegisteredBytes, int maxCqDepth,
                       int maxQpWr, int maxSge, long maxMessageBytes, long maxQueueBytes) {
        limits = new Limits(maxPds, maxCqs, maxQps, maxMrs, maxRegisteredBytes, maxCqDepth, maxQpWr, maxSge,
                maxMessageBytes, maxQueueBytes);
    }

    /** Replaces the partition table: partition key to member domain names; empty for the default partition. */
    public void partitions(Map<Integer, ? extends Iterable<String>> members) {
        partitions = new PartitionTable(members);
    }

    /** Bytes one queue pair moves per turn, so a big message does not hold the agent for long. */
    public void chunkBytes(long bytes) {
        sender.chunkBytes(bytes);
    }

    /** How long a requester waits after a receiver-not-ready before retrying. */
    public void rnrDelayNanos(long nanos) {
        rnrDelayNanos = nanos;
        transport.rnrDelayNanos(nanos);
    }

    /** How long a connection request waits for an answer before the requester gets UNREACHABLE. */
    public void connectTimeoutNanos(long nanos) {
        connections.timeoutNanos(nanos);
    }

    /** Opens the verbs of a domain with its first device, 0; EEXIST when that domid is already open. */
    public VerbsContext openDomain(int domid, String name) throws VerbsException {
        if (domains.containsKey(domid)) {
            throw new VerbsException(VerbsErrno.EEXIST, "dom " + domid + " is already open");
        }
        return openDevice(domid, 0, name, -1);
    }

    /**
     * Opens device {@code devid} of a domain: one guest process's verbs context. The domain's first device makes
     * its place in the scheduler; every device draws on the domain's limits and settings (by {@code name}).
     *
     * @param process the guest process using it, as its frontend tells it, or -1
     * @throws VerbsException EEXIST when that device is open, EINVAL for a domid out of range, ENOMEM when the node
     *                        serves as many domains as it can
     */
    public VerbsContext openDevice(int domid, int devid, String name, long process) throws VerbsException {
        DomainVerbs open = domains.get(domid);
        if (open != null) {
            return open.openDevice(devid, process);
        }
        return newDomain(domid, name).openDevice(devid, process);
    }

    /** A domain with its place in the scheduler and no device yet. */
    private DomainVerbs newDomain(int domid, String name) throws VerbsException {
        if (domid < 1 || domid > 0x7FEF) {
            throw new VerbsException(VerbsErrno.EINVAL, "domid out of range 1..32751: " + domid);
        }
        int slot = sender.claimSlot();
        if (slot < 0) {
            throw new VerbsException(VerbsErrno.ENOMEM, "node " + nodeId + " serves " + SendScheduler.MAX_DOMAINS
                    + " domains already");
        }
        DomainVerbs domain = new DomainVerbs(this, slot, domid, name);
        domain.applySettings(sender.settings(name));
        domains.put(domid, domain);
        return domain;
    }

    /**
     * Closes one device of a domain: its connections close, its queue pairs flush and go, its regions are
     * deregistered; the domain's other devices go on. The last device's close closes the domain.
     */
    public void closeDevice(int domid, int devid) {
        DomainVerbs domain = domains.get(domid);
        if (domain != null) {
            domain.closeDevice(devid);
            if (!domain.hasDevices()) {
                closeDomain(domid);
            }
        }
    }

    /** Closes a domain and every device of it. */
    public void closeDomain(int domid) {
        DomainVerbs domain = domains.remove(domid);
        if (domain != null) {
            domain.close();
            sender.closed(domain);
        }
    }

    /** Where the scheduler and per-VM settings come from; the built-in round-robin until this is called. */
    public void scheduling(SchedulerSource newSource) {
        sender.source(newSource);
    }

    /** The open domains, ordered by domid; safe to call from any thread. */
    public List<Domain> domains() {
        return List.copyOf(domains.values());
    }

    public Optional<Domain> domain(int domid) {
        return Optional.ofNullable(domains.get(domid));
    }

    /**
     * One duty cycle: connection timers, then a turn of at most one chunk for every queue pair with send work.
     *
     * @return the amount of work done; 0 tells the idle strategy to back off
     */
    public int doWork() {
        long now = now();
        int work = transport.receive(now);
        work += connections.expire(now);
        work += migrations.expire(now);
        work += sender.turns(now);
        // Read afresh: the packets the turns emitted go on the wire in afterWork's flush, and their round trips
        // start then, not before the turns (which a loaded host may have interrupted).
        return work + transport.afterWork(now());
    }

    Region registerRegion(Pd pd, ByteBuffer memory, long address, int access, RegionGrants grants) {
        int lkey = keys.next(byLkey::containsKey);
        int rkey = keys.next(k -> byRkey.containsKey(k) || byLkey.containsKey(k) || k == lkey);
        Region region = new Region(pd, memory, address, access, lkey, rkey, grants);
        byLkey.put(lkey, region);
        byRkey.put(rkey, region);
        return region;
    }

    /** A region that migrated here, with the keys it had: refused when either is in use on this node. */
    Region restoreRegion(Pd pd, ByteBuffer memory, long address, int access, int lkey, int rkey,
                         RegionGrants grants)
            throws VerbsException {
        if (lkey == 0 || rkey == 0 || lkey == rkey || byLkey.containsKey(lkey) || byRkey.containsKey(lkey)
                || byLkey.containsKey(rkey) || byRkey.containsKey(rkey)) {
            throw new VerbsException(VerbsErrno.EEXIST, "key 0x" + Integer.toHexString(lkey) + " or 0x"
                    + Integer.toHexString(rkey) + " is in use on node " + nodeId);
        }
        Region region = new Region(pd, memory, address, access, lkey, rkey, grants);
        byLkey.put(lkey, region);
        byRkey.put(rkey, region);
        return region;
    }

    void deregisterRegion(Region region) {
        byLkey.remove(region.lkey());
        byRkey.remove(region.rkey());
        keys.release(region.lkey());
        keys.release(region.rkey());
        region.kill();
    }

    Region byLkey(int lkey) {
        return byLkey.get(lkey);
    }

    Region byRkey(int rkey) {
        return byRkey.get(rkey);
    }

    /** The queue pair at {@code address} if it lives on this node. */
    Qp qp(QpAddress address) {
        if (address == null || address.node() != nodeId) {
            return null;
        }
        Qp qp = qps.get(address.qpn());
        return qp != null && qp.owner().domid() == address.domid() ? qp : null;
    }

    Qp qpByNumber(int qpn) {
        return qps.get(qpn);
    }

    Qp createQp(DeviceVerbs owner, Pd pd, Cq sendCq, Cq recvCq, QpInitAttributes attributes)
            throws VerbsException {
        int qpn = allocateQpn();
        Qp qp = new Qp(this, owner, new QpAddress(nodeId, owner.domid(), qpn), pd, sendCq, recvCq,
                attributes.maxSendWr(), attributes.maxRecvWr(), attributes.maxSge(), attributes.signalAll());
        qps.put(qpn, qp);
        return qp;
    }

    /** A queue pair that migrated here, with the number it had: refused when that number is in use on this node. */
    Qp restoreQp(DeviceVerbs owner, int qpn, Pd pd, Cq sendCq, Cq recvCq, int maxSendWr, int maxRecvWr, int maxSge,
                 boolean signalAll)
            throws VerbsException {
        if (qpn < 1 || qpn > MAX_QPN || qps.containsKey(qpn)) {
            throw new VerbsException(VerbsErrno.EEXIST, "queue pair number " + qpn + " is in use on node " + nodeId);
        }
        Qp qp = new Qp(this, owner, new QpAddress(nodeId, owner.domid(), qpn), pd, sendCq, recvCq, maxSendWr,
                maxRecvWr, maxSge, signalAll);
        qps.put(qpn, qp);
        return qp;
    }

    /**
     * Opens a domain that is migrating here, without devices (its image brings them), paused until the move commits;
     * EEXIST when its domid is open.
     */
    DomainVerbs arrivingDomain(int domid, String name) throws VerbsException {
        if (domains.containsKey(domid)) {
            throw new VerbsException(VerbsErrno.EEXIST, "dom " + domid + " is already open");
        }
        DomainVerbs domain = newDomain(domid, name);
        domain.pause(-1);
        return domain;
    }

    /** Forgets a domain that runs elsewhere now, or whose arrival failed, without telling its peers. */
    void discardDomain(DomainVerbs domain) {
        if (domains.remove(domain.domid(), domain)) {
            domain.discard();
            sender.closed(domain);
        }
    }

    DomainVerbs openDomainVerbs(int domid) {
        return domains.get(domid);
    }

    /** An unpredictable queue pair number, not live and not among the last ones released. */
    private int allocateQpn() throws VerbsException {
        try {
            return qpns.next(qps::containsKey);
        } catch (IllegalStateException e) {
            throw new VerbsException(VerbsErrno.ENOMEM, "no queue pair numbers left on node " + nodeId);
        }
    }

    /** Destroys a queue pair: the state machine ends it, its number leaves the table (quarantined). */
    void destroyQp(Qp qp) {
        states.destroy(qp);
        qps.remove(qp.address().qpn());
        qpns.release(qp.address().qpn());
    }
}
