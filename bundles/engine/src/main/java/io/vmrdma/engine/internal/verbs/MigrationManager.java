package io.vmrdma.engine.internal.verbs;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import io.vmrdma.api.Counter;
import io.vmrdma.api.DomainMigration;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.engine.internal.transport.MigrationWire;
import io.vmrdma.engine.internal.transport.Peer;
import io.vmrdma.engine.internal.transport.WireQp;
import io.vmrdma.engine.internal.wire.Extension.Migrate;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameType;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Domain migrations to and from this node (docs/migration.md, the frames in docs/wire-protocol.md §9). The source
 * offers the domain, pauses it once the destination accepts, sends its {@link DomainImage} in MIGRATE frames and,
 * once the destination has rebuilt it and says READY, commits; the destination runs the domain from the COMMIT on
 * and answers COMMITTED, and only then does the source let its copy go and tell the peers of the domain's queue
 * pairs where they are now (QP_MOVED). Until the commit every failure (the destination refuses, dies or goes silent,
 * the link drops) resumes the domain on the source with its connections as they were. Runs on the data agent.
 */
public final class MigrationManager {

    /** A step not answered in this time is sent again. */
    static final long RESEND_NANOS = 20_000_000L;
    /**
     * A destination silent this long before the commit: the migration failed, the domain resumes on the source. Its
     * peers meanwhile retransmit into the pause: a queue pair gives up after 7 timeouts doubling from 10 ms, 1.27 s of
     * silence at the least, which this keeps well clear of.
     */
    static final long GIVE_UP_NANOS = 500_000_000L;
    /** An arriving domain whose source is silent this long before the commit is given up. */
    static final long ARRIVAL_TIMEOUT_NANOS = 5_000_000_000L;
    /** How long a committed arrival answers repeated COMMITs, and a notice is repeated until acknowledged. */
    static final long LINGER_NANOS = 5_000_000_000L;
    /** Largest domain image taken: a domain at every default limit needs far less. */
    static final int MAX_IMAGE_BYTES = 16 << 20;
    /** MIGRATE STATE frames in flight ahead of the destination's acknowledgement. */
    static final int WINDOW_CHUNKS = 64;
    /** Arrivals in progress at once, from all nodes. */
    static final int MAX_ARRIVALS = 4;
    /** QP_MOVED notices one node may send this node per second (a burst of as many): the rest are refused. */
    static final int NOTICES_PER_SECOND = 1024;

    private enum Step {
        OFFERED,
        SENDING,
        COMMITTING
    }

    private final VerbsEngine engine;
    private final SecureRandom random = new SecureRandom();
    private DomainArrival arrival;
    private final Map<Long, Outgoing> outgoing = new HashMap<>();
    private final Map<ArrivalKey, Incoming> incoming = new HashMap<>();
    private final List<Notice> notices = new ArrayList<>();
    private final Map<Integer, long[]> noticeBudgets = new HashMap<>();

    MigrationManager(VerbsEngine engine) {
        this.engine = engine;
    }

    /** Where this node gets an arriving domain's memory; until it is set, arrivals are refused. */
    public void arrival(DomainArrival host) {
        arrival = host;
    }

    /**
     * Starts moving domain {@code domid} to node {@code node}; {@code progress} hears how it goes. Call on the data
     * agent.
     *
     * @return the migration's id
     * @throws VerbsException when the domain is not here, is migrating already, or {@code node} is not an up peer
     */
    public long migrate(int domid, int node, DomainMigration.Listener progress) throws VerbsException {
        DomainVerbs domain = engine.openDomainVerbs(domid);
        if (domain == null || domain.paused()) {
            throw new VerbsException(VerbsErrno.ENOENT, "no domain " + domid + " on node " + engine.nodeId()
                    + " that could migrate");
        }
        if (node == engine.nodeId() || !engine.peerUp(node)) {
            throw new VerbsException(VerbsErrno.EINVAL, "node " + node + " is not an up peer of node "
                    + engine.nodeId());
        }
        long id = random.nextLong() & Long.MAX_VALUE | 1;
        Outgoing out = new Outgoing(id, domain, node, progress, engine.now());
        outgoing.put(id, out);
        out.send();
        return id;
    }

    /** Domains migrating away from this node now, by domid, and the node each goes to: for the console. */
    public Map<Integer, Integer> departures() {
        Map<Integer, Integer> going = new HashMap<>();
        for (Outgoing out : outgoing.values()) {
            going.put(out.domain.domid(), out.node);
        }
        return going;
    }

    /** Whether a move, an arrival or a notice is under way: {@link #expire} then has timers to run. */
    boolean inFlight() {
        return !outgoing.isEmpty() || !incoming.isEmpty() || !notices.isEmpty();
    }

    /** Timers: steps sent again, silent partners given up, notices repeated. */
    int expire(long now) {
        if (!inFlight()) {
            return 0;
        }
        int work = 0;
        for (Outgoing out : new ArrayList<>(outgoing.values())) {
            work += out.tick(now);
        }
        for (Iterator<Incoming> it = incoming.values().iterator(); it.hasNext();) {
            Incoming in = it.next();
            if (now - in.heardNanos > (in.active ? LINGER_NANOS : ARRIVAL_TIMEOUT_NANOS)) {
                it.remove();
                if (!in.active) {
                    in.abandon();
                }
                work++;
            }
        }
        for (Iterator<Notice> it = notices.iterator(); it.hasNext();) {
            Notice notice = it.next();
            if (now - notice.sinceNanos > LINGER_NANOS) {
                it.remove();
            } else if (now - notice.sentNanos >= RESEND_NANOS) {
                notice.send(now);
                work++;
            }
        }
        return work;
    }

    /** A MIGRATE, QP_MOVED or QP_MOVED_ACK from {@code peer}, checked for length, CRC or tag and source. */
    void onWire(Peer peer, FrameType type, UnsafeBuffer rx, int at, int payloadLength) {
        switch (type) {
            case MIGRATE -> onMigrate(peer, rx, at, payloadLength);
            case QP_MOVED -> onMoved(peer, rx, at);
            default -> onMovedAck(peer, rx, at);
        }
    }

    private void onMigrate(Peer peer, UnsafeBuffer rx, int at, int payloadLength) {
        long id = MigrationWire.migrationId(rx, at);
        int step = MigrationWire.step(rx, at);
        int payload = at + FrameType.MIGRATE.headerLength();
        Outgoing out = outgoing.get(id);
        if (out != null && out.node == peer.node()) {
            out.onAnswer(step, MigrationWire.offset(rx, at), rx, payload, payloadLength);
            return;
        }
        ArrivalKey key = new ArrivalKey(peer.node(), id);
        Incoming in = incoming.get(key);
        if (in == null && step == Migrate.OFFER) {
            offered(peer, key, MigrationWire.domid(rx, at), rx, payload, payloadLength);
        } else if (in != null) {
            in.onStep(step, MigrationWire.offset(rx, at), MigrationWire.total(rx, at), rx, payload, payloadLength);
        } else if (step == Migrate.COMMIT) {
            sendStep(peer, id, Migrate.ABORT, 0, 0, 0, "no migration " + id + " arriving on node " + engine.nodeId());
        } else {
            engine.counters().increment(Counter.CONTROL_FRAME_DROPS);
        }
    }

    private void offered(Peer peer, ArrivalKey key, int domid, UnsafeBuffer rx, int payload, int payloadLength) {
        String why = null;
        if (arrival == null) {
            why = "node " + engine.nodeId() + " takes no migrating domains (no hypervisor)";
        } else if (incoming.size() >= MAX_ARRIVALS) {
            why = "node " + engine.nodeId() + " takes " + MAX_ARRIVALS + " arrivals at a time";
        } else if (engine.openDomainVerbs(domid) != null) {
            why = "dom " + domid + " is open on node " + engine.nodeId() + " already";
        } else if (!arrival.hosts(domid, reason(rx, payload, payloadLength))) {
            why = "node " + engine.nodeId() + "'s hypervisor has no dom " + domid + " (its memory did not come here)";
        }
        if (why != null) {
            engine.counters().increment(Counter.MIGRATIONS_FAILED);
            sendStep(peer, key.id(), Migrate.ABORT, 0, 0, domid, why);
            return;
        }
        incoming.put(key, new Incoming(peer, key.id(), domid));
        sendStep(peer, key.id(), Migrate.ACCEPT, 0, 0, domid, null);
    }

    private boolean sendStep(Peer peer, long id, int step, int offset, int total, int domid, String reason) {
        byte[] text = reason == null ? new byte[0]
                : reason.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int length = Math.min(text.length, 200);
        return engine.transport().migrationWire().sendStep(peer, id, step, offset, total, domid,
                new UnsafeBuffer(text), 0, length);
    }

    private static String reason(DirectBuffer rx, int payload, int payloadLength) {
        byte[] text = new byte[Math.min(payloadLength, 200)];
        rx.getBytes(payload, text);
        return new String(text, java.nio.charset.StandardCharsets.UTF_8);
    }

    // ----------------------------------------------------------------------------------------------------------
    // QP_MOVED: a peer of a migrated queue pair follows it

    private void onMoved(Peer peer, UnsafeBuffer rx, int at) {
        Qp qp = engine.qpByNumber(Frame.dstQpn(rx, at));
        int movedQpn = Frame.srcQpn(rx, at);
        long connectionId = MigrationWire.movedConnectionId(rx, at);
        int newNode = MigrationWire.newNode(rx, at);
        WireQp wire = qp == null ? null : qp.wire();
        QpAddress remote = qp == null ? null : qp.remote();
        boolean theirs = wire != null && remote != null && remote.qpn() == movedQpn
                && wire.connectionId() == connectionId && qp.pkey() == Frame.pkey(rx, at);
        if (theirs && remote.node() == newNode) {
            // A repeat: the acknowledgement was lost.
            acknowledgeMove(peer, qp, movedQpn, connectionId, newNode);
            return;
        }
        if (!theirs || remote.node() != peer.node() || newNode == engine.nodeId()
                || engine.transport().peers().get(newNode) == null || !withinNoticeBudget(peer.node())) {
            engine.counters().increment(Counter.QP_MOVES_REFUSED);
            return;
        }
        qp.remote(new QpAddress(newNode, remote.domid(), remote.qpn()));
        wire.followMove();
        qp.counters().increment(Counter.QP_MOVES);
        engine.sender().schedule(qp);
        acknowledgeMove(peer, qp, movedQpn, connectionId, newNode);
    }

    private void acknowledgeMove(Peer peer, Qp qp, int movedQpn, long connectionId, int newNode) {
        engine.transport().migrationWire().sendMoved(peer, FrameType.QP_MOVED_ACK, movedQpn, qp.address().qpn(),
                qp.pkey(), connectionId, newNode);
    }

    /** A token bucket per sending node: a flood of notices, even well-formed ones, costs a bounded amount. */
    private boolean withinNoticeBudget(int node) {
        long now = engine.now();
        long[] bucket = noticeBudgets.computeIfAbsent(node, n -> new long[] {NOTICES_PER_SECOND, now});
        long refill = (now - bucket[1]) * NOTICES_PER_SECOND / 1_000_000_000L;
        if (refill > 0) {
            bucket[0] = Math.min(NOTICES_PER_SECOND, bucket[0] + refill);
            bucket[1] = now;
        }
        if (bucket[0] == 0) {
            return false;
        }
        bucket[0]--;
        return true;
    }

    private void onMovedAck(Peer peer, UnsafeBuffer rx, int at) {
        int movedQpn = Frame.dstQpn(rx, at);
        int peerQpn = Frame.srcQpn(rx, at);
        long connectionId = MigrationWire.movedConnectionId(rx, at);
        boolean matched = notices.removeIf(n -> n.peer == peer && n.movedQpn == movedQpn && n.peerQpn == peerQpn
                && n.connectionId == connectionId);
        if (!matched) {
            engine.counters().increment(Counter.CONTROL_FRAME_DROPS);
        }
    }

    /** A QP_MOVED this node repeats until the peer acknowledges it, for {@link #LINGER_NANOS} at most. */
    private final class Notice {
        final Peer peer;
        final int peerQpn;
        final int movedQpn;
        final int pkey;
        final long connectionId;
        final int newNode;
        final long sinceNanos;
        long sentNanos;

        Notice(Peer peer, int peerQpn, int movedQpn, int pkey, long connectionId, int newNode, long now) {
            this.peer = peer;
            this.peerQpn = peerQpn;
            this.movedQpn = movedQpn;
            this.pkey = pkey;
            this.connectionId = connectionId;
            this.newNode = newNode;
            this.sinceNanos = now;
        }

        void send(long now) {
            sentNanos = now;
            engine.transport().migrationWire().sendMoved(peer, FrameType.QP_MOVED, peerQpn, movedQpn, pkey,
                    connectionId, newNode);
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // The source's side

    private final class Outgoing {
        final long id;
        final DomainVerbs domain;
        final int node;
        final DomainMigration.Listener progress;
        final long startNanos;
        Step step = Step.OFFERED;
        DomainImage.Captured image;
        UnsafeBuffer bytes;
        int acked;
        int sentUpTo;
        long pausedNanos;
        long heardNanos;
        long sentNanos;
        boolean ready;

        Outgoing(long id, DomainVerbs domain, int node, DomainMigration.Listener progress, long now) {
            this.id = id;
            this.domain = domain;
            this.node = node;
            this.progress = progress;
            this.startNanos = now;
            this.heardNanos = now;
        }

        Peer peer() {
            return engine.transport().peers().get(node);
        }

        /** Sends what the step asks: the offer, state from the last acknowledged byte, or the commit. */
        void send() {
            Peer peer = peer();
            sentNanos = engine.now();
            if (peer == null) {
                return;
            }
            switch (step) {
                case OFFERED -> sendStep(peer, id, Migrate.OFFER, 0, 0, domain.domid(), domain.name());
                case SENDING -> {
                    if (acked == bytes.capacity()) {
                        // All there: nudge the destination for its READY.
                        sendChunk(peer, acked, 0);
                        return;
                    }
                    int room = engine.transport().migrationWire().chunkRoom();
                    if (room <= 0) {
                        return;
                    }
                    for (sentUpTo = acked; sentUpTo < bytes.capacity()
                            && sentUpTo - acked < WINDOW_CHUNKS * room;) {
                        int n = Math.min(room, bytes.capacity() - sentUpTo);
                        if (!sendChunk(peer, sentUpTo, n)) {
                            break;
                        }
                        sentUpTo += n;
                    }
                }
                case COMMITTING -> sendStep(peer, id, Migrate.COMMIT, 0, 0, domain.domid(), null);
            }
        }

        boolean sendChunk(Peer peer, int offset, int length) {
            return engine.transport().migrationWire().sendStep(peer, id, Migrate.STATE, offset, bytes.capacity(),
                    domain.domid(), bytes, offset, length);
        }

        int tick(long now) {
            boolean destinationGone = step == Step.COMMITTING ? !engine.peerUp(node)
                    : now - heardNanos > GIVE_UP_NANOS;
            if (destinationGone) {
                fail("node " + node + " did not answer", true);
                return 1;
            }
            if (now - sentNanos >= RESEND_NANOS) {
                send();
                return 1;
            }
            return 0;
        }

        void onAnswer(int answer, int offset, DirectBuffer rx, int payload, int payloadLength) {
            heardNanos = engine.now();
            switch (answer) {
                case Migrate.ACCEPT -> {
                    if (step == Step.OFFERED) {
                        start();
                    }
                }
                case Migrate.STATE_ACK -> {
                    if (step == Step.SENDING && offset > acked && offset <= bytes.capacity()) {
                        acked = offset;
                        if (sentUpTo <= acked || acked == bytes.capacity()) {
                            send();
                        }
                    }
                }
                case Migrate.READY -> {
                    if (step == Step.SENDING && acked == bytes.capacity()) {
                        step = Step.COMMITTING;
                        send();
                    }
                }
                case Migrate.COMMITTED -> {
                    if (step == Step.COMMITTING) {
                        committed();
                    }
                }
                case Migrate.ABORT -> fail("node " + node + " refused: " + reason(rx, payload, payloadLength),
                        false);
                default -> engine.counters().increment(Counter.CONTROL_FRAME_DROPS);
            }
        }

        /** The destination takes it: the domain pauses and its state goes out. */
        void start() {
            domain.pause(node);
            pausedNanos = engine.now();
            try {
                image = DomainImage.capture(engine, domain, node);
            } catch (VerbsException e) {
                fail(e.getMessage(), true);
                return;
            }
            if (image.bytes().length > MAX_IMAGE_BYTES) {
                fail(domain + "'s state is " + image.bytes().length + " bytes, more than " + MAX_IMAGE_BYTES, true);
                return;
            }
            bytes = new UnsafeBuffer(image.bytes());
            step = Step.SENDING;
            progress.paused(bytes.capacity());
            send();
        }

        void fail(String why, boolean tellDestination) {
            outgoing.remove(id);
            Peer peer = peer();
            if (tellDestination && peer != null) {
                sendStep(peer, id, Migrate.ABORT, 0, 0, domain.domid(), why);
            }
            if (domain.paused()) {
                domain.resume();
                domain.qps().forEach(engine.sender()::schedule);
            }
            engine.counters().increment(Counter.MIGRATIONS_FAILED);
            progress.failed(why);
        }

        /** The domain runs on the destination: this node's copy goes, its local peers and remote peers follow. */
        void committed() {
            outgoing.remove(id);
            long now = engine.now();
            List<Notice> told = new ArrayList<>();
            for (Qp qp : domain.qps()) {
                QpAddress remote = qp.remote();
                if (qp.wire() != null && remote != null && remote.node() != node && remote.node() != engine.nodeId()
                        && qp.state() != QpState.ERR && qp.state() != QpState.RESET) {
                    Peer peer = engine.transport().peers().get(remote.node());
                    if (peer != null) {
                        told.add(new Notice(peer, remote.qpn(), qp.address().qpn(), qp.pkey(),
                                qp.wire().connectionId(), node, now));
                    }
                }
            }
            engine.discardDomain(domain);
            for (DomainImage.Handover h : image.handovers()) {
                Qp stays = h.stays();
                if (stays.live() && stays.state() != QpState.ERR) {
                    stays.remote(h.moved());
                    stays.replaceWire(new WireQp(stays, h.sendPsn(), h.receivePsn()));
                    stays.wire().connectionId(h.connectionId());
                    engine.sender().schedule(stays);
                }
            }
            told.forEach(n -> n.send(now));
            notices.addAll(told);
            engine.counters().increment(Counter.MIGRATIONS_OUT);
            progress.completed(now - pausedNanos);
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // The destination's side

    private record ArrivalKey(int node, long id) {
    }

    private final class Incoming {
        final Peer peer;
        final long id;
        final int domid;
        byte[] image;
        int received;
        DomainImage.Restored restored;
        boolean active;
        long heardNanos;

        Incoming(Peer peer, long id, int domid) {
            this.peer = peer;
            this.id = id;
            this.domid = domid;
            this.heardNanos = engine.now();
        }

        void onStep(int step, int offset, int total, DirectBuffer rx, int payload, int payloadLength) {
            heardNanos = engine.now();
            switch (step) {
                case Migrate.OFFER -> sendStep(peer, id, Migrate.ACCEPT, 0, 0, domid, null);
                case Migrate.STATE -> onState(offset, total, rx, payload, payloadLength);
                case Migrate.COMMIT -> {
                    if (restored != null && !active) {
                        activate();
                    }
                    if (active) {
                        sendStep(peer, id, Migrate.COMMITTED, 0, 0, domid, null);
                    }
                }
                case Migrate.ABORT -> {
                    if (!active) {
                        incoming.remove(new ArrivalKey(peer.node(), id));
                        abandon();
                    }
                }
                default -> engine.counters().increment(Counter.CONTROL_FRAME_DROPS);
            }
        }

        void onState(int offset, int total, DirectBuffer rx, int payload, int payloadLength) {
            if (total <= 0 || total > MAX_IMAGE_BYTES || image != null && image.length != total) {
                engine.counters().increment(Counter.MALFORMED_FRAMES);
                return;
            }
            if (image == null) {
                image = new byte[total];
            }
            if (offset == received && payloadLength <= total - received) {
                rx.getBytes(payload, image, received, payloadLength);
                received += payloadLength;
            }
            if (received < total) {
                sendStep(peer, id, Migrate.STATE_ACK, received, total, domid, null);
                return;
            }
            if (restored == null) {
                try {
                    restored = DomainImage.restore(engine, peer.node(), image, arrival);
                } catch (VerbsException e) {
                    incoming.remove(new ArrivalKey(peer.node(), id));
                    engine.counters().increment(Counter.MIGRATIONS_FAILED);
                    arrival.abandoned(domid, "");
                    sendStep(peer, id, Migrate.ABORT, 0, 0, domid, e.getMessage());
                    return;
                }
            }
            sendStep(peer, id, Migrate.STATE_ACK, received, total, domid, null);
            sendStep(peer, id, Migrate.READY, 0, 0, domid, null);
        }

        /** The move committed: the domain runs here, joined with its local peers. */
        void activate() {
            active = true;
            DomainVerbs domain = restored.domain();
            for (DomainImage.Join join : restored.joins()) {
                join(join);
            }
            domain.resume();
            domain.qps().forEach(engine.sender()::schedule);
            engine.counters().increment(Counter.MIGRATIONS_IN);
            for (DomainImage.ArrivedDevice device : restored.devices()) {
                arrival.arrived(device.device(), device.objects());
            }
        }

        void abandon() {
            if (restored != null) {
                engine.discardDomain(restored.domain());
                arrival.abandoned(domid, restored.domain().name());
            }
            engine.counters().increment(Counter.MIGRATIONS_FAILED);
        }
    }

    /**
     * A queue pair that arrived connected to one of this node: the two go memory to memory from now on. Requests either
     * side had delivered (all their PSNs below what the other side expects next) complete; the rest start again,
     * locally, from their first byte, which a WRITE or READ repeats harmlessly and a SEND does without a receive
     * consumed twice (a receive is taken only when its message is whole).
     */
    private void join(DomainImage.Join join) {
        Qp arrived = join.arrived();
        Qp local = engine.qp(join.local());
        WireQp localWire = local == null ? null : local.wire();
        if (localWire == null || !local.live() || local.remote() == null
                || local.remote().qpn() != arrived.address().qpn() || local.state() == QpState.ERR) {
            engine.states().enterError(arrived);
            return;
        }
        int delivered = localWire.expectedPsn();
        for (int k = 0; k < join.lastPsns().length && !arrived.sq.isEmpty(); k++) {
            int last = join.lastPsns()[k];
            if (join.reads()[k] || last == Integer.MIN_VALUE || last - delivered >= 0) {
                break;
            }
            arrived.sendDone();
        }
        int arrivedExpects = join.receivePsn();
        for (int k = 0; !local.sq.isEmpty() && localWire.started(k); k++) {
            if (local.sendOpcode(0) == io.vmrdma.api.verbs.Opcode.RDMA_READ || localWire.failure(k) != null
                    || localWire.lastPsn(k) - arrivedExpects >= 0) {
                break;
            }
            local.sendDone();
        }
        Connection joined = Connection.joined(local.connection() == null ? engine.connections().freshId()
                : local.connection().id(), arrived, local, local.pkey(), engine.counters());
        local.replaceWire(null);
        local.remote(arrived.address());
        local.joinConnection(joined);
        arrived.joinConnection(joined);
        engine.sender().schedule(local);
        engine.sender().schedule(arrived);
    }
}
