package io.vmrdma.engine.internal.verbs;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.LongSupplier;

import io.vmrdma.api.Domain;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpAttributes;
import io.vmrdma.api.verbs.QpInitAttributes;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.VerbsContext;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.Counter;
import io.vmrdma.engine.internal.status.Counters;
import io.vmrdma.engine.internal.transport.Peer;
import io.vmrdma.engine.internal.transport.WireQp;
import io.vmrdma.engine.internal.transport.WireTransport;
import org.agrona.collections.Int2ObjectHashMap;

/**
 * The verbs of one node: the tables that resolve keys and queue pair numbers, the queue pairs with send work,
 * and the duty cycle that moves their data. Confined to one thread (the data agent), except the read-only views
 * {@link #domains()} and {@link #counters()} that the console uses.
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
    /** Most domains one node serves at once: the capacity of scheduler slots. */
    static final int MAX_DOMAINS = 4096;
    /** The least a local (memory-to-memory) turn moves, whatever the policy granted: about one jumbo frame's worth. */
    private static final long MIN_LOCAL_TURN_BYTES = 64 * 1024;

    private final boolean[] slotUsed = new boolean[MAX_DOMAINS];
    private final io.vmrdma.api.sched.Turn turn = new io.vmrdma.api.sched.Turn();
    private volatile SchedulerSource source = SchedulerSource.builtin();
    private SchedulerSource builtFrom;
    private long builtGeneration;
    private long settingsGeneration;
    private io.vmrdma.api.sched.Scheduler scheduler;
    private int backloggedDomains;
    /** Payload bytes the current turn moved: what the request processor and the transport moved during it. */
    private long turnBytes;
    /** The transport's memory accesses, one at a time. */
    private final SgCursor wireCursor = new SgCursor();
    private final RequestProcessor processor = new RequestProcessor(this);
    private final ConnectionManager connections;
    private final WireTransport transport;
    private final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(VerbsEngine.class);
    /** One line a second for failures a tenant may cause on every turn; the rest counted. */
    private final io.vmrdma.engine.internal.status.LogBudget errors;
    private volatile Limits limits = Limits.DEFAULTS;
    /** Xen 4.17's default maptrack table: 1024 frames of 256 mappings. */
    private volatile long maxGrantPages = 262_144;
    private final QueueMemory queueMemory = new QueueMemory(defaultNodeQueueBytes());
    private volatile PartitionTable partitions = PartitionTable.DEFAULT;
    private volatile long chunkBytes = 256 * 1024;
    private long rnrDelayNanos = 10_000;

    /**
     * @param clock        nanosecond clock for timers (System::nanoTime in production; a manual clock in tests)
     * @param keySeed      seed for memory keys, or null for keys from the operating system's entropy
     */
    public VerbsEngine(int nodeId, LongSupplier clock, Long keySeed) {
        this.nodeId = nodeId;
        this.clock = clock;
        this.errors = new io.vmrdma.engine.internal.status.LogBudget(log, "engine failures", 1, 1_000_000_000L, clock);
        this.keys = keySeed == null ? new KeyGenerator(KEY_QUARANTINE, 32)
                : new KeyGenerator(keySeed, KEY_QUARANTINE, 32);
        this.qpns = keySeed == null ? new KeyGenerator(QPN_QUARANTINE, QPN_BITS)
                : new KeyGenerator(~keySeed, QPN_QUARANTINE, QPN_BITS);
        this.connections = new ConnectionManager(this, 5_000_000_000L);
        this.transport = new WireTransport(nodeId, counters, log, qps::get);
        this.transport.connections(connections::onWire);
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
        if (bytes < 1) {
            throw new IllegalArgumentException("chunk must be at least one byte");
        }
        chunkBytes = bytes;
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

    /** Opens the verbs of a domain; EEXIST when that domid is already open. */
    public VerbsContext openDomain(int domid, String name) throws VerbsException {
        if (domid < 1 || domid > 0x7FEF) {
            throw new VerbsException(VerbsErrno.EINVAL, "domid out of range 1..32751: " + domid);
        }
        if (domains.containsKey(domid)) {
            throw new VerbsException(VerbsErrno.EEXIST, "dom " + domid + " is already open");
        }
        int slot = 0;
        while (slot < MAX_DOMAINS && slotUsed[slot]) {
            slot++;
        }
        if (slot == MAX_DOMAINS) {
            throw new VerbsException(VerbsErrno.ENOMEM, "node " + nodeId + " serves " + MAX_DOMAINS + " domains already");
        }
        slotUsed[slot] = true;
        DomainVerbs domain = new DomainVerbs(this, slot, domid, name);
        domain.settings = source.settings(name);
        domains.put(domid, domain);
        return domain;
    }

    /** Closes a domain: its connections close, its queue pairs flush and go, its regions are deregistered. */
    public void closeDomain(int domid) {
        DomainVerbs domain = domains.remove(domid);
        if (domain != null) {
            domain.close();
            if (domain.backlogged) {
                domain.backlogged = false;
                backloggedDomains--;
                scheduler().idle(domain, now());
            }
            domain.withSendWork.clear();
            slotUsed[domain.slot()] = false;
        }
    }

    /** Where the scheduler and per-VM settings come from; the built-in round-robin until this is called. */
    public void scheduling(SchedulerSource newSource) {
        source = newSource;
    }

    /** The scheduler in force, rebuilt (with every backlogged domain reported to it) when its source changed. */
    private io.vmrdma.api.sched.Scheduler scheduler() {
        SchedulerSource s = source;
        if (scheduler == null || s != builtFrom || s.generation() != builtGeneration) {
            builtFrom = s;
            builtGeneration = s.generation();
            scheduler = s.newScheduler(MAX_DOMAINS);
            long now = now();
            for (DomainVerbs d : domains.values()) {
                if (d.backlogged) {
                    scheduler.backlogged(d, now);
                }
            }
        }
        if (s.settingsGeneration() != settingsGeneration) {
            settingsGeneration = s.settingsGeneration();
            for (DomainVerbs d : domains.values()) {
                d.settings = s.settings(d.name());
                if (d.backlogged) {
                    scheduler.settingsChanged(d);
                }
            }
        }
        return scheduler;
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
        io.vmrdma.api.sched.Scheduler s = scheduler();
        // Turns until this duty cycle has moved chunkBytes, or every backlogged domain in a row moved nothing (then
        // only time or new work helps): receiving, timers and other work get their share between cycles.
        long cycleBytes = 0;
        for (int fruitless = 0; fruitless <= backloggedDomains && cycleBytes < chunkBytes && s.next(now, turn); ) {
            DomainVerbs domain = (DomainVerbs) turn.queue();
            turnBytes = 0;
            int progress = serve(domain, turn.budgetBytes(), now);
            s.sent(domain, turnBytes, now);
            cycleBytes += turnBytes;
            fruitless = progress == 0 ? fruitless + 1 : 0;
            work += progress;
            if (domain.withSendWork.isEmpty() && domain.backlogged) {
                domain.backlogged = false;
                backloggedDomains--;
                s.idle(domain, now);
            }
        }
        return work + transport.afterWork(now);
    }

    Region registerRegion(Pd pd, ByteBuffer memory, long address, int access) {
        int lkey = keys.next(byLkey::containsKey);
        int rkey = keys.next(k -> byRkey.containsKey(k) || byLkey.containsKey(k) || k == lkey);
        Region region = new Region(pd, memory, address, access, lkey, rkey);
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

    Qp createQp(DomainVerbs owner, Pd pd, Cq sendCq, Cq recvCq, QpInitAttributes attributes)
            throws VerbsException {
        int qpn = allocateQpn();
        Qp qp = new Qp(this, owner, new QpAddress(nodeId, owner.domid(), qpn), pd, sendCq, recvCq,
                attributes.maxSendWr(), attributes.maxRecvWr(), attributes.maxSge(), attributes.signalAll());
        qps.put(qpn, qp);
        return qp;
    }

    /** An unpredictable queue pair number, not live and not among the last ones released. */
    private int allocateQpn() throws VerbsException {
        try {
            return qpns.next(qps::containsKey);
        } catch (IllegalStateException e) {
            throw new VerbsException(VerbsErrno.ENOMEM, "no queue pair numbers left on node " + nodeId);
        }
    }

    void destroyQp(Qp qp) {
        processor.abandon(qp);
        qp.live = false;
        if (qp.wire() != null) {
            qp.wire().release();
        }
        qps.remove(qp.address().qpn());
        qpns.release(qp.address().qpn());
        qp.sq.clear();
        qp.rq.clear();
    }

    void modifyQp(Qp qp, QpAttributes attributes) throws VerbsException {
        QpState current = qp.state();
        QpState next = attributes.state() == null ? current : attributes.state();
        if (!current.canModifyTo(next) && !(next == current && next == QpState.ERR)) {
            throw new VerbsException(VerbsErrno.EINVAL, "cannot modify " + qp + " from " + current + " to " + next);
        }
        int retry = attributes.retryCount();
        int rnr = attributes.rnrRetry();
        if (retry > 7 || rnr > 7 || retry < -1 || rnr < -1) {
            throw new VerbsException(VerbsErrno.EINVAL, "retry counts are 0..7");
        }
        int pkey = attributes.pkey();
        if (pkey != -1) {
            if (!(current == QpState.RESET || current == QpState.INIT) || next != QpState.INIT) {
                throw new VerbsException(VerbsErrno.EINVAL, "the partition key is set on the move to INIT only");
            }
            if (!partitions.isMember(qp.owner().name(), pkey)) {
                qp.counters().increment(Counter.PARTITION_VIOLATIONS);
                throw new VerbsException(VerbsErrno.EPERM, qp.owner() + " is not in partition 0x"
                        + Integer.toHexString(pkey));
            }
        }
        if (attributes.remote() != null && !(next == QpState.RTR && current == QpState.INIT)) {
            throw new VerbsException(VerbsErrno.EINVAL, "the remote queue pair is set on the move to RTR only");
        }
        if (current == QpState.RESET && next == QpState.INIT && pkey == -1) {
            throw new VerbsException(VerbsErrno.EINVAL, "the move to INIT needs a partition key");
        }
        if (current == QpState.INIT && next == QpState.RTR && attributes.remote() == null) {
            throw new VerbsException(VerbsErrno.EINVAL, "the move to RTR needs the remote queue pair");
        }
        if (retry != -1) {
            qp.retryCount = retry;
        }
        if (rnr != -1) {
            qp.rnrRetry = rnr;
            qp.rnrRetriesLeft = rnr;
        }
        if (pkey != -1) {
            qp.pkey(pkey);
        }
        if (attributes.remote() != null) {
            qp.remote(attributes.remote());
            if (attributes.remote().node() != nodeId) {
                qp.replaceWire(new WireQp(qp, 0, 0));
            }
        }
        moveTo(qp, next);
    }

    /** Brings a queue pair to RTS, connected to a queue pair on another node, with the PSNs both ends start at. */
    void bringUpRemote(Qp qp, int pkey, QpAddress remote, int sendPsn, int receivePsn) {
        qp.replaceWire(new WireQp(qp, sendPsn, receivePsn));
        bringUp(qp, pkey, remote);
    }

    /** Brings a queue pair from RESET to RTS, connected to {@code remote}: the connection manager's modify. */
    void bringUp(Qp qp, int pkey, QpAddress remote) {
        qp.pkey(pkey);
        qp.remote(remote);
        qp.rnrRetriesLeft = qp.rnrRetry;
        moveTo(qp, QpState.RTS);
    }

    private void moveTo(Qp qp, QpState next) {
        switch (next) {
            case RESET -> {
                processor.abandon(qp);
                qp.sq.clear();
                qp.rq.clear();
                qp.remote(null);
                qp.pkey(-1);
                qp.connectionId = 0;
                qp.replaceWire(null);
                qp.state(QpState.RESET);
            }
            case ERR -> enterError(qp);
            default -> {
                qp.state(next);
                if (next == QpState.RTS) {
                    schedule(qp);
                }
            }
        }
    }

    void sendPosted(Qp qp) {
        if (qp.state() == QpState.ERR) {
            flush(qp);
        } else {
            schedule(qp);
        }
    }

    void recvPosted(Qp qp) {
        if (qp.state() == QpState.ERR) {
            flush(qp);
            return;
        }
        // A requester waiting out a receiver-not-ready on this queue pair may go now.
        Qp requester = qp(qp.remote());
        if (requester != null) {
            requester.notBeforeNanos = 0;
        }
    }

    /**
     * One scheduler turn of a domain: its queue pairs with send work take turns, round-robin, until the granted bytes
     * are moved or none of them could move anything. Order within a queue pair is never changed.
     */
    private int serve(DomainVerbs domain, long budget, long now) {
        int progress = 0;
        long granted = Math.max(budget, 1);
        int stalled = 0;
        while (turnBytes < granted && stalled < domain.withSendWork.size()) {
            Qp qp = domain.withSendWork.poll();
            long before = turnBytes;
            int done = 0;
            if (qp.live && qp.state() == QpState.RTS && !qp.sq.isEmpty()) {
                long left = granted - turnBytes;
                long moved = movedBytes();
                try {
                    done = qp.wire() != null ? transport.requesterTurn(qp, left, now)
                            : processor.turn(qp, Math.min(Math.max(left, MIN_LOCAL_TURN_BYTES), chunkBytes), now);
                } catch (RuntimeException e) {
                    turnFailed(qp, e);
                }
                turnBytes += movedBytes() - moved;
            }
            if (qp.live && qp.state() == QpState.RTS && !qp.sq.isEmpty()) {
                domain.withSendWork.add(qp);
            } else {
                qp.scheduled = false;
            }
            progress += done;
            stalled = done == 0 && turnBytes == before ? stalled + 1 : 0;
        }
        return progress;
    }

    /** Payload bytes the request processor and the transport have moved, ever. */
    private long movedBytes() {
        return processor.bytesMoved() + transport.bytesSent();
    }

    /**
     * The engine threw on a queue pair's turn: a gap in its own checks that this queue pair's requests reached. The
     * queue pair goes to ERR (its work flushed, its peer told as for any error) and the duty cycle goes on, so one
     * tenant's bad luck or malice never stops the node.
     */
    private void turnFailed(Qp qp, RuntimeException e) {
        qp.counters().increment(io.vmrdma.api.Counter.INTERNAL_ERRORS);
        errors.warn("{}: the engine failed on its turn, moved to ERR: {}", qp, e.toString());
        try {
            enterError(qp);
        } catch (RuntimeException again) {
            qp.state(QpState.ERR);
            qp.sq.clear();
            qp.rq.clear();
        }
    }

    private void schedule(Qp qp) {
        if (!qp.scheduled && qp.state() == QpState.RTS && !qp.sq.isEmpty()) {
            qp.scheduled = true;
            DomainVerbs domain = qp.owner();
            domain.withSendWork.add(qp);
            if (!domain.backlogged && domains.get(domain.domid()) == domain) {
                domain.backlogged = true;
                backloggedDomains++;
                scheduler().backlogged(domain, now());
            }
        }
    }

    /** Moves a queue pair to ERR and flushes all its work with WR_FLUSH_ERR, as verbs does. */
    void enterError(Qp qp) {
        processor.abandon(qp);
        if (qp.wire() != null) {
            qp.wire().release();
        }
        qp.state(QpState.ERR);
        flush(qp);
    }

    private void flush(Qp qp) {
        while (!qp.sq.isEmpty()) {
            SendWqe w = qp.sq.head();
            qp.sq.removeHead();
            complete(qp.sendCq(), qp, w.wrId, WcStatus.WR_FLUSH_ERR, WcOpcode.of(w.opcode), 0, false, 0);
        }
        while (!qp.rq.isEmpty()) {
            RecvWqe r = qp.rq.head();
            qp.rq.removeHead();
            complete(qp.recvCq(), qp, r.wrId, WcStatus.WR_FLUSH_ERR, WcOpcode.RECV, 0, false, 0);
        }
    }

    /** Posts a completion; an overflow moves every queue pair on that completion queue to ERR, once. */
    void complete(Cq cq, Qp qp, long wrId, WcStatus status, WcOpcode opcode, int byteLength, boolean hasImm,
                  int imm) {
        if (!cq.complete(qp, wrId, status, opcode, byteLength, hasImm, imm) && !cq.overflowHandled) {
            cq.overflowHandled = true;
            for (Qp other : List.copyOf(cq.owner().qps())) {
                if ((other.sendCq() == cq || other.recvCq() == cq) && other.state() != QpState.ERR) {
                    enterError(other);
                }
            }
        }
    }
}
