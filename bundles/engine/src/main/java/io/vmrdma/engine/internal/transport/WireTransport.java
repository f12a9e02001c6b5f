package io.vmrdma.engine.internal.transport;

import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntFunction;
import java.util.function.ToLongFunction;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Node;
import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.NicPort;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.engine.internal.auth.NodeAuth;
import io.vmrdma.engine.internal.auth.PeerAuth;
import io.vmrdma.engine.internal.congestion.CongestionSettings;
import io.vmrdma.engine.internal.status.Counters;
import io.vmrdma.engine.internal.status.DropAlarm;
import io.vmrdma.engine.internal.status.LogBudget;
import io.vmrdma.engine.internal.wire.AuthTrailer;
import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameCheck;
import io.vmrdma.engine.internal.wire.FrameType;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.slf4j.Logger;

/**
 * The reliable transport between this node and others, over whatever NIC binding is bound: segmentation to the
 * MTU, PSNs, cumulative and selective acknowledgements, retransmission on a timer from measured round trips,
 * receiver-not-ready, and validation of every frame that arrives. Runs on the data agent.
 *
 * <p>This class owns the port, the receive path (validation, dispatch, hellos) and frames out; the {@link PeerTable}
 * holds the peers, {@link WireRequester} and {@link WireResponder} the two halves of the protocol, {@link CmFrames}
 * the connection manager's frame layouts. It reaches the verbs only through {@link WireEndpoint}, the queue pairs as
 * the transport sees them, and hands connection-manager frames to the {@link ConnectionFrames} handler.
 *
 * <p>Peers: the static peer table from configuration, plus peers discovered by HELLOs on the link segment (a
 * discovery HELLO goes to the binding's broadcast address every hello period, where it has one). A static entry
 * always wins: a HELLO naming a known node from another link address is a spoof, dropped and counted. Each peer gets
 * a unicast HELLO every period, which carries a probe id its HELLO_REPLY echoes (the round-trip time); a peer not
 * heard for three periods is marked down, and up again when it answers.
 *
 * <p>Every frame from the wire is untrusted: it is dropped and counted unless it is long enough for its type, has
 * our version, a matching CRC32C, is addressed to this node, comes from a known peer at that peer's link address,
 * names a queue pair connected to the sender in the same partition, and carries a PSN inside the window; data is
 * placed only where a key allows.
 */
public final class WireTransport implements FrameHandler {

    private static final int RX_BATCH = 64;
    /**
     * Full receive batches in a row after which this node is under pressure: 8 × 64 frames (4.5 MiB at MTU 9000,
     * half of nic.packet's default socket buffer) came in faster than it read them, so the buffer fills.
     */
    static final int BACKLOG_POLLS = 8;
    /** How long a rise of the binding's receive drops keeps this node asking senders to back off: one RTO floor. */
    static final long DROP_PRESSURE_NANOS = 10_000_000;
    public static final long HELLO_INTERVAL_NANOS = 1_000_000_000L;
    /** At most this many peer-table lines per {@link #PEER_LOG_PERIOD_NANOS}; a cluster's boot fits, a flood does not. */
    static final int PEER_LOG_LINES = 50;
    static final long PEER_LOG_PERIOD_NANOS = 10_000_000_000L;
    /**
     * Least time between two challenges to one peer: a frame under an epoch not confirmed asks for an early HELLO,
     * and frames an attacker replays must not make this node send one each.
     */
    static final long CHALLENGE_GAP_NANOS = HELLO_INTERVAL_NANOS / 10;
    /** Bytes of the challenge (HELLO) or its echo (HELLO_REPLY) an authenticated hello carries as payload. */
    static final int CHALLENGE_LENGTH = 8;

    private final int nodeId;
    /** The queue pairs of this node by number (null for none): the transport's way to the verbs. */
    private final IntFunction<WireEndpoint> endpoints;
    private ConnectionFrames connections;
    private MigrationFrames migrations;
    private final Counters counters;
    private final FrameClaim claim = new FrameClaim();
    private final UnsafeBuffer rx = new UnsafeBuffer(0, 0);
    private final UnsafeBuffer tx = new UnsafeBuffer(0, 0);
    /** One frame check per direction: each keeps a view of the buffer it last saw, and the two see different ones. */
    private final FrameCheck rxCheck = new FrameCheck();
    private final FrameCheck txCheck = new FrameCheck();
    /** Where the payload of the frame being sent lies, when the port sends it from there. */
    private final PayloadSpan span = new PayloadSpan();
    /** The binding's buffer of the frame being received ({@link #rx} wraps it). */
    private ByteBuffer rxBuffer;
    private final PeerTable peers;
    private long nextDiscoveryNanos;
    /** Set when a port is bound: the next cycle restarts hello and liveness timers from its own time. */
    private boolean rebase = true;
    private int lastProbeId;
    private final WireRequester requester;
    private final WireResponder responder;
    private final CmFrames cmFrames = new CmFrames(this);
    private final MigrationWire migrationWire = new MigrationWire(this);
    private final long incarnation = new SecureRandom().nextLong();
    /** Peer-table lines (discovered, up, down, moved, forgotten, refused): HELLOs from anyone can cause them. */
    private final LogBudget peerLog;
    /** Frame authentication, or null while {@code auth = off}. */
    private NodeAuth auth;
    /** Whether {@link #auth} is set, for the console's threads. */
    private volatile boolean authenticated;
    private boolean discovery = true;
    /** Failures of the engine's own code while a frame was received or claimed: a bug, logged a few a second. */
    private final LogBudget failureLog;
    private NicPort port;
    /** {@link #port} for other threads: the one to wake. */
    private volatile NicPort waitingOn;
    private int portEpoch;
    private long now;
    /**
     * When the frame being received reached this host, on the engine's clock: the poll's time less how long the
     * binding says the frame waited for it (its kernel receive timestamp).
     */
    private long arrivalNanos;
    /** Queue pairs that emitted new packets since the last flush, to stamp with the flush's time. */
    private final ArrayDeque<WireQp> awaitingFlush = new ArrayDeque<>();
    /** Says when drops of one cause suddenly rise; sampled once a second from {@link #afterWork}. */
    private final DropAlarm dropAlarm;
    private final ToLongFunction<Counter> nodeCounter;
    /** The link address of the frame being received, for the drop alarm. */
    private LinkAddress receivingFrom;
    /** Receive polls in a row that came back with a full batch. */
    private int fullPolls;
    /** The binding's receive drops as last seen, and until when their last rise keeps this node under pressure. */
    private long receiveDrops;
    private long dropPressureUntilNanos;
    private boolean dropPressure;

    /**
     * @param nodeId    this node's id
     * @param counters  the node's counters
     * @param log       where peer-table changes and the transport's own failures are logged (a few lines a second)
     * @param endpoints the queue pairs of this node by number, null for a number not in use
     */
    public WireTransport(int nodeId, Counters counters, Logger log, IntFunction<WireEndpoint> endpoints) {
        this.nodeId = nodeId;
        this.counters = counters;
        this.endpoints = endpoints;
        this.requester = new WireRequester(this);
        this.responder = new WireResponder(this);
        this.peerLog = new LogBudget(log, "peer table changes", PEER_LOG_LINES, PEER_LOG_PERIOD_NANOS, () -> now);
        this.failureLog = new LogBudget(log, "wire failures", 1, HELLO_INTERVAL_NANOS, () -> now);
        this.peers = new PeerTable(peerLog, this::keysFor);
        this.dropAlarm = new DropAlarm(log);
        this.nodeCounter = counters::get;
        this.migrations = (peer, type, frame, at, payloadLength) -> counters.increment(Counter.CONTROL_FRAME_DROPS);
    }

    /** The connection manager's frames out. */
    public CmFrames cmFrames() {
        return cmFrames;
    }

    /** Where connection-manager frames go once checked (length, CRC or tag, source). */
    public void connections(ConnectionFrames handler) {
        connections = handler;
    }

    /** Where migration frames go once checked (length, CRC or tag, source). */
    public void migrations(MigrationFrames handler) {
        migrations = handler;
    }

    /** The migration frames out. */
    public MigrationWire migrationWire() {
        return migrationWire;
    }

    /** How long a requester is asked to wait after a receiver-not-ready this node sends. */
    public void rnrDelayNanos(long nanos) {
        responder.rnrDelayNanos(nanos);
    }

    /** Binds a NIC port, or none. Timers of queue pairs restart from the moment a port is back. */
    public void port(NicPort newPort) {
        abandonClaim();
        port = newPort;
        waitingOn = newPort;
        receiveDrops = newPort == null ? 0 : newPort.receiveDrops();
        fullPolls = 0;
        portEpoch++;
        rebase = true;
    }

    public NicPort port() {
        return port;
    }

    /**
     * Authenticates every frame from now on with {@code nodeAuth}, or none (null, {@code auth = off}). Peers start
     * afresh: each must answer a challenge before its frames are believed again.
     */
    public void authentication(NodeAuth nodeAuth) {
        auth = nodeAuth;
        authenticated = nodeAuth != null;
        peers.rekey();
    }

    /** Whether frames are authenticated ({@code auth = on}); any thread. */
    public boolean authenticated() {
        return authenticated;
    }

    /** This node's epoch, counter and keys, or null while {@code auth = off}. */
    public NodeAuth nodeAuth() {
        return auth;
    }

    /** Whether HELLOs find nodes beyond the static peer table ({@code discovery = on}), and announce this one. */
    public void discovery(boolean on) {
        discovery = on;
    }

    /** Every peer's congestion control from now on, as configured; windows start afresh. */
    public void congestion(CongestionSettings settings) {
        peers.congestion(settings);
    }

    private PeerAuth keysFor(int node) {
        return auth == null ? null : auth.peer(node);
    }

    /**
     * Adds or replaces a peer of the static peer table. A peer already at that address keeps its state and counters
     * (a discovered one becomes static); at another address it starts afresh.
     */
    public void peer(int node, LinkAddress address) {
        peers.putStatic(node, address, now);
    }

    /**
     * Makes {@code table} the static peer table: entries added or changed as {@link #peer(int, LinkAddress)} does;
     * static peers no longer in it leave the table (queue pairs connected to them then fail as unreachable);
     * discovered peers stay unless the table names them.
     */
    public void staticPeers(Map<Integer, LinkAddress> table) {
        peers.replaceStatic(table, now);
    }

    /** A snapshot of every peer, in node order; any thread. */
    public List<PeerInfo> peerInfos(long nowNanos) {
        return peers.infos(nowNanos);
    }

    /** The peers; the data agent's thread. */
    public PeerTable peers() {
        return peers;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Duty cycle

    /** Receives a batch of frames. */
    public int receive(long nowNanos) {
        now = nowNanos;
        NicPort p = port;
        if (p == null) {
            return 0;
        }
        int frames = p.poll(this, RX_BATCH);
        fullPolls = frames == RX_BATCH ? fullPolls + 1 : 0;
        long drops = p.receiveDrops();
        if (drops != receiveDrops) {
            receiveDrops = drops;
            dropPressure = true;
            dropPressureUntilNanos = nowNanos + DROP_PRESSURE_NANOS;
        }
        return frames;
    }

    /** Sleeps on the port's readiness, at most {@code timeoutNanos}; parks while no port is bound. */
    public void awaitFrames(long timeoutNanos) {
        NicPort p = port;
        if (p == null) {
            LockSupport.parkNanos(timeoutNanos);
        } else {
            p.awaitFrames(timeoutNanos);
        }
    }

    /** Sleeps on the port's readiness and {@code fd}'s; false (no sleep) without a port or where it cannot. */
    public boolean awaitFramesOr(int fd, long timeoutNanos) {
        NicPort p = port;
        return p != null && p.awaitFramesOr(fd, timeoutNanos);
    }

    /**
     * Whether a frame and a {@link #wake} both end {@link #awaitFrames}: the port is {@link NicPort#wakeable()}, or
     * none is bound (then the wait is a park, which the waker unparks).
     */
    public boolean wakeable() {
        NicPort p = port;
        return p == null || p.wakeable();
    }

    /** Ends the bound port's {@link NicPort#awaitFrames} in progress, or its next; any thread. */
    public void wake() {
        NicPort p = waitingOn;
        if (p != null) {
            p.wake();
        }
    }

    /**
     * Nanoseconds from {@code nowNanos} until the transport's own timers want a duty cycle: a peer's hello or
     * liveness, the discovery HELLO; 0 when a port was just bound (its timers start in the next cycle);
     * {@code Long.MAX_VALUE} without a port (no timer runs then). The timers of queue pairs are not among them.
     */
    public long nanosUntilDue(long nowNanos) {
        if (port == null) {
            return Long.MAX_VALUE;
        }
        if (rebase) {
            return 0;
        }
        long due = peers.nanosUntilTimer(nowNanos, HELLO_INTERVAL_NANOS);
        if (discovery) {
            due = Math.min(due, nextDiscoveryNanos - nowNanos);
        }
        return Math.max(0, due);
    }

    /**
     * Whether this node asks its senders to back off (flag PRESSURE on its ACKs): its receive queue stayed full for
     * {@link #BACKLOG_POLLS} polls, or the binding dropped received frames in the last {@link #DROP_PRESSURE_NANOS}.
     */
    boolean underPressure() {
        if (dropPressure && now - dropPressureUntilNanos >= 0) {
            dropPressure = false;
        }
        return dropPressure || fullPolls >= BACKLOG_POLLS;
    }

    /** After the queue pairs had their turns: acknowledgements, READ responses, hellos, then one flush. */
    public int afterWork(long nowNanos) {
        now = nowNanos;
        NicPort p = port;
        if (p == null) {
            return 0;
        }
        int work = responder.afterWork();
        if (rebase) {
            // Time without a port does not count against peers: hellos and liveness start again from now.
            rebase = false;
            nextDiscoveryNanos = nowNanos;
            peers.rebase(nowNanos);
        }
        peerLog.tick();
        dropAlarm.sample(nowNanos, nodeCounter);
        for (Peer peer : peers.all()) {
            peers.markDownIfSilent(peer, nowNanos, HELLO_INTERVAL_NANOS);
            if (peer.helloDue(nowNanos, HELLO_INTERVAL_NANOS)) {
                sendHello(peer, FrameType.HELLO, nextProbe(peer, nowNanos),
                        auth == null ? 0 : peer.auth().challenge(auth.nextChallenge(), nowNanos));
            }
        }
        if (discovery && nowNanos - nextDiscoveryNanos >= 0) {
            nextDiscoveryNanos = nowNanos + HELLO_INTERVAL_NANOS;
            Optional<LinkAddress> broadcast = p.broadcastAddress();
            if (broadcast.isPresent()) {
                sendDiscovery(broadcast.get());
            }
        }
        for (WireQp w = awaitingFlush.poll(); w != null; w = awaitingFlush.poll()) {
            w.flushed(nowNanos);
        }
        p.flush();
        return work;
    }

    /** {@code w} is about to emit new packets: unless it did since the last flush, it is stamped at the next one. */
    void awaitsFlush(WireQp w) {
        if (!w.awaitingFlush()) {
            awaitingFlush.add(w);
        }
    }

    /**
     * A turn of a queue pair whose peer is on another node: retransmit what timed out or was reported missing, then
     * put new packets on the wire while the window has room, up to {@code budget} payload bytes.
     *
     * @return the amount of work done
     */
    public int requesterTurn(WireEndpoint qp, long budget, long nowNanos) {
        now = nowNanos;
        return requester.turn(qp, budget, nowNanos);
    }

    /** Payload bytes of requests put on the wire (first sends and resends), ever: turns are charged the difference. */
    public long bytesSent() {
        return requester.bytesSent();
    }

    long now() {
        return now;
    }

    /** When the frame being received reached this host; {@link #now()} when the binding cannot tell. */
    long arrivalNanos() {
        return arrivalNanos;
    }

    int portEpoch() {
        return portEpoch;
    }

    Counters counters() {
        return counters;
    }

    UnsafeBuffer rx() {
        return rx;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Receive path: validation and dispatch

    /** Counts a frame of the one being received as dropped for {@code cause}, and notes its source for the alarm. */
    private void drop(Counter cause) {
        counters.increment(cause);
        dropAlarm.dropped(cause, receivingFrom);
    }

    @Override
    public void onFrame(ByteBuffer buffer, int offset, int length, LinkAddress source) {
        try {
            receiveFrame(buffer, offset, length, source);
        } catch (RuntimeException e) {
            // A gap in the engine's own checks that this one frame reached: counted, the batch and the node go on.
            counters.increment(Counter.INTERNAL_ERRORS);
            abandonClaim();
            failureLog.warn("a frame from {} could not be handled: {}", source, e.toString());
        }
    }

    private void receiveFrame(ByteBuffer buffer, int offset, int length, LinkAddress source) {
        NicPort p = port;
        arrivalNanos = now - (p == null ? 0 : Math.max(0, p.frameWaitNanos()));
        rx.wrap(buffer);
        rxBuffer = buffer;
        receivingFrom = source;
        if (length < Frame.BASE_LENGTH) {
            drop(Counter.MALFORMED_FRAMES);
            return;
        }
        FrameType type = FrameType.ofCode(Frame.type(rx, offset));
        int payloadLength = Frame.payloadLength(rx, offset);
        boolean authenticated = (Frame.flags(rx, offset) & Frame.FLAG_AUTH) != 0;
        if (type == null || length < Frame.length(type.headerLength(), payloadLength, authenticated)) {
            drop(Counter.MALFORMED_FRAMES);
            return;
        }
        if (!rxCheck.verifyHeader(buffer, offset, type.headerLength())) {
            drop(Counter.CRC_ERRORS);
            return;
        }
        int src = Frame.srcNode(rx, offset);
        boolean hello = type == FrameType.HELLO || type == FrameType.HELLO_REPLY;
        boolean discoveryHello = type == FrameType.HELLO
                && (Frame.flags(rx, offset) & Extension.Hello.FLAG_DISCOVERY) != 0;
        if (src == nodeId || Frame.dstNode(rx, offset) != nodeId && !discoveryHello) {
            drop(Counter.UNKNOWN_SOURCE_DROPS);
            return;
        }
        if (authenticated != (auth != null)) {
            drop(Counter.AUTH_FAILURES);
            peerLog.warn("node {} at {} sends {} frames, but auth = {} here: set the same on every node", src,
                    source, authenticated ? "authenticated" : "unauthenticated", auth != null ? "on" : "off");
            return;
        }
        int covered = type.headerLength() + payloadLength;
        Peer peer = peers.get(src);
        if (peer == null) {
            if (!hello || !discovery) {
                drop(Counter.UNKNOWN_SOURCE_DROPS);
                return;
            }
            if (auth != null && !auth.verifiesFromStranger(buffer, offset, covered, src, discoveryHello)) {
                drop(Counter.AUTH_FAILURES);
                return;
            }
            peer = peers.discover(src, source, now);
            if (peer == null) {
                drop(Counter.UNKNOWN_SOURCE_DROPS);
                return;
            }
        } else if (!peer.address().equals(source)) {
            if (!hello || !peer.discovered() || peer.up()) {
                drop(hello ? Counter.PEER_SPOOFS : Counter.UNKNOWN_SOURCE_DROPS);
                return;
            }
            if (auth != null && !tagged(peer, buffer, offset, covered, discoveryHello)) {
                drop(Counter.AUTH_FAILURES);
                return;
            }
            // A discovered node that went silent and speaks again from elsewhere (restarted, new port).
            peerLog.info("node {} moved from {} to {}", src, peer.address(), source);
            if (auth == null) {
                peer.moveTo(source);
            } else {
                // A captured HELLO replayed from elsewhere carries a good tag too: the node starts afresh there, and
                // is up there only once it answers a challenge sent there.
                peer = peers.rediscover(peer, source, now);
            }
        }
        if (!hello && Frame.version(rx, offset) != Frame.VERSION) {
            drop(Counter.MALFORMED_FRAMES);
            return;
        }
        if (auth != null && !believed(peer, type, buffer, offset, covered, discoveryHello, payloadLength)) {
            return;
        }
        peer.counters().increment(Counter.FRAMES_RECEIVED);
        peer.counters().add(Counter.FRAME_BYTES_RECEIVED, length);
        counters.increment(Counter.FRAMES_RECEIVED);
        counters.add(Counter.FRAME_BYTES_RECEIVED, length);
        peer.heard(now);
        if (hello) {
            onHello(peer, type, offset);
            return;
        }
        if (auth == null && !type.placesPayload() && payloadLength > 0
                && !rxCheck.verifyPayload(buffer, offset + type.headerLength(), payloadLength)) {
            drop(Counter.PAYLOAD_CRC_ERRORS);
            return;
        }
        switch (type) {
            case CM_REQUEST, CM_REPLY, CM_REJECT, DISCONNECT_REQUEST, DISCONNECT_REPLY ->
                    connections.onConnectionFrame(peer, type, rx, offset, payloadLength);
            case MIGRATE, QP_MOVED, QP_MOVED_ACK -> migrations.onMigrationFrame(peer, type, rx, offset, payloadLength);
            default -> onQpFrame(peer, type, offset, payloadLength);
        }
    }

    private boolean tagged(Peer peer, ByteBuffer buffer, int at, int covered, boolean discoveryHello) {
        return (discoveryHello ? peer.auth().inDiscovery : peer.auth().in)
                .verify(buffer, at, covered + AuthTrailer.TAG_OFFSET);
    }

    /**
     * The checks of an authenticated frame (docs/wire-protocol.md §8): its tag under the sender's key, then its epoch
     * and counter. A frame under the peer's confirmed epoch with a counter not seen is believed; so is a HELLO_REPLY
     * answering this node's challenge, which confirms the epoch it carries (the peer started, or restarted). Any other
     * frame is dropped unbelieved: a HELLO among them is answered, so that a restarted peer can confirm this node,
     * and makes this node challenge the peer early. False when the frame is dropped; counted here.
     */
    private boolean believed(Peer peer, FrameType type, ByteBuffer buffer, int at, int covered, boolean discoveryHello,
                             int payloadLength) {
        if (!tagged(peer, buffer, at, covered, discoveryHello)) {
            drop(Counter.AUTH_FAILURES);
            return false;
        }
        boolean hello = type == FrameType.HELLO || type == FrameType.HELLO_REPLY;
        if (hello && payloadLength != CHALLENGE_LENGTH) {
            drop(Counter.MALFORMED_FRAMES);
            return false;
        }
        PeerAuth keys = peer.auth();
        long epoch = rx.getLong(at + covered + AuthTrailer.EPOCH_OFFSET, Frame.ORDER);
        long counter = rx.getLong(at + covered + AuthTrailer.COUNTER_OFFSET, Frame.ORDER);
        long challenge = hello ? rx.getLong(at + type.headerLength(), Frame.ORDER) : 0;
        if (keys.isFresh(epoch, counter)) {
            keys.accept(counter);
            return true;
        }
        if (type == FrameType.HELLO_REPLY && keys.confirm(challenge, epoch, counter)) {
            return true;
        }
        boolean firstContact = !keys.confirmed();
        if (!firstContact) {
            drop(Counter.REPLAYS);
        } else if (!hello) {
            // Not known yet: no epoch of it was ever confirmed (it starts; its HELLOs are answered below).
            drop(Counter.UNKNOWN_SOURCE_DROPS);
        } else {
            counters.increment(Counter.FRAMES_RECEIVED);
        }
        if (type == FrameType.HELLO && (firstContact || !keys.isCurrentEpoch(epoch))) {
            // Perhaps the peer restarted: let it confirm this node, and confirm it in turn (a new challenge).
            sendHello(peer, FrameType.HELLO_REPLY, rx.getShort(at + Extension.Hello.PROBE, Frame.ORDER) & 0xFFFF,
                    challenge);
        }
        if (now - keys.challengedNanos() >= CHALLENGE_GAP_NANOS) {
            peer.helloNow(now);
        }
        return false;
    }

    private void onQpFrame(Peer peer, FrameType type, int at, int payloadLength) {
        WireEndpoint qp = endpoints.apply(Frame.dstQpn(rx, at));
        WireQp w = qp == null ? null : qp.wire();
        if (w == null || qp.remote() == null || qp.remote().node() != peer.node()
                || qp.remote().qpn() != Frame.srcQpn(rx, at) || qp.state() == QpState.ERR
                || qp.state() == QpState.RESET || qp.paused()) {
            drop(Counter.UNKNOWN_QP_DROPS);
            return;
        }
        if (Frame.pkey(rx, at) != qp.pkey() || !qp.inPartition(qp.pkey())) {
            qp.counters().increment(Counter.PARTITION_VIOLATIONS);
            return;
        }
        int psn = Frame.psn(rx, at);
        switch (type) {
            case WRITE, SEND -> {
                if (qp.state() == QpState.RTR || qp.state() == QpState.RTS || qp.state() == QpState.SQD) {
                    responder.onData(w, type, at, psn, Frame.flags(rx, at), Frame.aux(rx, at), at + type.headerLength(),
                            payloadLength);
                }
            }
            case READ_REQUEST -> {
                if (qp.state() == QpState.RTR || qp.state() == QpState.RTS || qp.state() == QpState.SQD) {
                    responder.onReadRequest(w, at, psn, Frame.aux(rx, at));
                }
            }
            case READ_RESPONSE -> requester.onReadResponse(peer, w, psn, rx.getLong(
                    at + Extension.ReadResponse.READ_OFFSET, Frame.ORDER), at + type.headerLength(), payloadLength);
            case ACK -> requester.onAck(peer, w, Frame.aux(rx, at), rx.getLong(at + Extension.Ack.SACK, Frame.ORDER),
                    (Frame.flags(rx, at) & Extension.Ack.FLAG_PRESSURE) != 0);
            case NAK -> {
                qp.counters().increment(Counter.NAKS_RECEIVED);
                requester.onNak(w, Frame.aux(rx, at), rx.getInt(at + Extension.Nak.CODE, Frame.ORDER),
                        rx.getInt(at + Extension.Nak.RNR_DELAY_MICROS, Frame.ORDER));
            }
            default -> drop(Counter.MALFORMED_FRAMES);
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // Payload placement: the payload is copied into place and checked in the same pass. Its header was verified, so
    // the bytes land exactly where this frame's bytes belong, inside what the key allows; when the payload CRC fails
    // they are garbage there until the retransmission overwrites them, and the frame counts as never received (no
    // completion, no acknowledgement): the target of an unfinished operation is undefined in verbs anyway.

    /** Payload bytes placed and added to the CRC at a time: the copy brings them into the first-level cache. */
    private static final int PIECE = 4 * 1024;

    /**
     * Places {@code length} payload bytes at {@code payload} at the cursor of {@code cursor} (positioned by the queue
     * pair's checks); false when their CRC fails.
     */
    boolean placeChecked(WireEndpoint cursor, int payload, int length, Counters where) {
        if (auth != null || length == 0) {
            cursor.copyIn(rx, payload, length);
            return true;
        }
        rxCheck.startPayload(rxBuffer);
        for (int done = 0; done < length;) {
            int n = Math.min(PIECE, length - done);
            cursor.copyIn(rx, payload + done, n);
            rxCheck.update(payload + done, n);
            done += n;
        }
        return payloadChecked(payload + length, where);
    }

    private boolean payloadChecked(int trailerAt, Counters where) {
        if (rxCheck.payloadMatches(trailerAt)) {
            return true;
        }
        where.increment(Counter.PAYLOAD_CRC_ERRORS);
        return false;
    }

    private void onHello(Peer peer, FrameType type, int at) {
        int version = rx.getShort(at + Extension.Hello.PROTOCOL_VERSION, Frame.ORDER) & 0xFFFF;
        int probe = rx.getShort(at + Extension.Hello.PROBE, Frame.ORDER) & 0xFFFF;
        int previous = peer.announced(version);
        if (version != Node.PROTOCOL_VERSION) {
            if (peer.up() || previous != version) {
                counters.increment(Counter.VERSION_MISMATCHES);
                peerLog.warn("node {} speaks vmrdma protocol {}, this node speaks {}: refusing it", peer.node(),
                        version, Node.PROTOCOL_VERSION);
            }
            peer.markDown();
            return;
        }
        if (peer.markUp()) {
            peerLog.info("node {} at {} up ({}, protocol {})", peer.node(), peer.address(),
                    peer.discovered() ? "discovered" : "static", version);
        }
        if (type == FrameType.HELLO) {
            sendHello(peer, FrameType.HELLO_REPLY, probe,
                    auth == null ? 0 : rx.getLong(at + type.headerLength(), Frame.ORDER));
        } else {
            peer.probeAnswered(probe, now);
        }
    }

    /** Starts a new round-trip probe to {@code peer}; an unanswered earlier one is given up (one outstanding). */
    private int nextProbe(Peer peer, long nowNanos) {
        lastProbeId = lastProbeId == 0xFFFF ? 1 : lastProbeId + 1;
        peer.probe(lastProbeId, nowNanos);
        return lastProbeId;
    }

    /**
     * A unicast HELLO or HELLO_REPLY; with authentication it carries a challenge (HELLO) or the challenge it answers
     * (HELLO_REPLY) as its payload.
     */
    private void sendHello(Peer peer, FrameType type, int probe, long challenge) {
        int payload = auth == null ? 0 : CHALLENGE_LENGTH;
        int at = begin(peer.address(), type.headerLength(), payload);
        if (at < 0) {
            return;
        }
        writeHello(at, type, 0, peer.node(), probe, payload);
        if (payload > 0) {
            tx.putLong(at + type.headerLength(), challenge, Frame.ORDER);
        }
        end(peer, at, type.headerLength(), payload);
    }

    /** A discovery HELLO to the link's broadcast address; counted at node level only. */
    private void sendDiscovery(LinkAddress broadcast) {
        FrameType type = FrameType.HELLO;
        int payload = auth == null ? 0 : CHALLENGE_LENGTH;
        int at = begin(broadcast, type.headerLength(), payload);
        if (at < 0) {
            return;
        }
        writeHello(at, type, Extension.Hello.FLAG_DISCOVERY, Extension.Hello.ANY_NODE, 0, payload);
        int frameLength = Frame.length(type.headerLength(), payload, auth != null);
        if (auth == null) {
            txCheck.seal(claim.buffer(), at, type.headerLength(), 0);
        } else {
            // No challenge: the nodes that answer get a unicast HELLO with one.
            tx.putLong(at + type.headerLength(), 0, Frame.ORDER);
            flagAuthenticated(at);
            txCheck.sealHeader(claim.buffer(), at, type.headerLength());
            auth.sealDiscovery(claim.buffer(), at, type.headerLength() + payload);
        }
        port.commit(claim, frameLength);
        counters.increment(Counter.FRAMES_SENT);
        counters.add(Counter.FRAME_BYTES_SENT, frameLength);
    }

    private void writeHello(int at, FrameType type, int flags, int dstNode, int probe, int payloadLength) {
        Frame.writeBase(tx, at, type, flags, nodeId, dstNode, 0, payloadLength, 0, 0, 0, 0);
        tx.putShort(at + Extension.Hello.PROTOCOL_VERSION, (short) Node.PROTOCOL_VERSION, Frame.ORDER);
        tx.putShort(at + Extension.Hello.PROBE, (short) probe, Frame.ORDER);
        tx.putInt(at + Extension.Hello.MTU, port.mtu(), Frame.ORDER);
        tx.putLong(at + Extension.Hello.INCARNATION, incarnation, Frame.ORDER);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Frames out

    /** Payload bytes a frame of {@code type} carries at the port's MTU. */
    int payloadRoom(FrameType type) {
        return port.mtu() - type.headerLength() - (auth == null ? Frame.TRAILER_LENGTH : AuthTrailer.LENGTH);
    }

    /** Sets {@link Frame#FLAG_AUTH} in the header at {@code at} while authenticating; before the header is sealed. */
    private void flagAuthenticated(int at) {
        if (auth != null) {
            tx.putShort(at + Frame.FLAGS_OFFSET, (short) (Frame.flags(tx, at) | Frame.FLAG_AUTH), Frame.ORDER);
        }
    }

    static int packets(long bytes, int segment) {
        return (int) Math.max(1, (bytes + segment - 1) / segment);
    }

    /**
     * Claims room for a frame to {@code peer} with this header and payload; returns its offset in {@link #tx}, or -1
     * when the port is full.
     */
    public int begin(Peer peer, int headerLength, int payloadLength) {
        return begin(peer.address(), headerLength, payloadLength);
    }

    private int begin(LinkAddress destination, int headerLength, int payloadLength) {
        NicPort p = port;
        if (p == null) {
            return -1;
        }
        if (claim.isLent()) {
            failureLog.warn("a frame claimed and never committed (a failure while it was written): aborted");
            abandonClaim();
        }
        int frameLength = Frame.length(headerLength, payloadLength, auth != null);
        if (!p.tryClaim(destination, frameLength, claim)) {
            p.flush();
            if (!p.tryClaim(destination, frameLength, claim)) {
                return -1;
            }
        }
        tx.wrap(claim.buffer());
        return claim.offset();
    }

    /**
     * Seals and commits a claimed frame whose payload is the next {@code length} bytes at {@code cursor}. Where the
     * port gathers and the bytes lie in one piece of direct memory (and frames carry a payload CRC, not a tag over the
     * frame as written), the payload stays where it is: its CRC is computed there, the trailer follows the header in
     * the window, and the port sends header, payload and trailer as pieces ({@link NicPort#commitGather}), so the only
     * copy of the payload is the kernel's. Otherwise as {@link #copyOutSealed(WireEndpoint, int, int, int)} and
     * {@link #endSealed}.
     */
    void sealPayloadFrom(WireEndpoint cursor, Peer peer, int at, int headerLength, int length) {
        if (auth != null || length == 0 || !port.gathers() || !cursor.spanOut(length, span)) {
            copyOutSealed(cursor, at, headerLength, length);
            endSealed(peer, at, headerLength, length);
            return;
        }
        txCheck.sealHeader(claim.buffer(), at, headerLength);
        txCheck.startPayload(claim.buffer());
        txCheck.update(span.buffer(), span.offset(), length);
        txCheck.finishPayload(at + headerLength);
        port.commitGather(claim, headerLength, span.buffer(), span.offset(), length, Frame.TRAILER_LENGTH);
        countSent(peer, Frame.length(headerLength, length));
    }

    /**
     * Seals the header of a claimed frame, copies {@code length} payload bytes from {@code cursor} after it and
     * writes the payload CRC, computed piece by piece right after each piece is copied (still in the first-level
     * cache); {@link #endSealed} then commits the frame.
     */
    private void copyOutSealed(WireEndpoint cursor, int at, int headerLength, int length) {
        flagAuthenticated(at);
        txCheck.sealHeader(claim.buffer(), at, headerLength);
        if (auth != null) {
            // No payload CRC: endSealed tags header and payload together.
            cursor.copyOut(tx, at + headerLength, length);
            return;
        }
        txCheck.startPayload(claim.buffer());
        for (int done = 0; done < length;) {
            int n = Math.min(PIECE, length - done);
            int to = at + headerLength + done;
            cursor.copyOut(tx, to, n);
            txCheck.update(to, n);
            done += n;
        }
        txCheck.finishPayload(at + headerLength + length);
    }

    /** As {@link #copyOutSealed(WireEndpoint, int, int, int)}, from one contiguous buffer. */
    void copyOutSealed(DirectBuffer source, int sourceOffset, int at, int headerLength, int length) {
        flagAuthenticated(at);
        txCheck.sealHeader(claim.buffer(), at, headerLength);
        if (auth != null) {
            tx.putBytes(at + headerLength, source, sourceOffset, length);
            return;
        }
        txCheck.startPayload(claim.buffer());
        for (int done = 0; done < length;) {
            int n = Math.min(PIECE, length - done);
            int to = at + headerLength + done;
            tx.putBytes(to, source, sourceOffset + done, n);
            txCheck.update(to, n);
            done += n;
        }
        txCheck.finishPayload(at + headerLength + length);
    }

    /** Commits a claimed frame whose CRCs are already written, after its authentication trailer when there is one. */
    void endSealed(Peer peer, int at, int headerLength, int payloadLength) {
        int frameLength = Frame.length(headerLength, payloadLength, auth != null);
        if (auth != null) {
            auth.seal(claim.buffer(), at, headerLength + payloadLength, peer.auth().out);
        }
        port.commit(claim, frameLength);
        countSent(peer, frameLength);
    }

    private void countSent(Peer peer, int frameLength) {
        peer.counters().increment(Counter.FRAMES_SENT);
        peer.counters().add(Counter.FRAME_BYTES_SENT, frameLength);
        counters.increment(Counter.FRAMES_SENT);
        counters.add(Counter.FRAME_BYTES_SENT, frameLength);
    }

    /** Seals and commits the claimed frame, its header and payload written in place. */
    public void end(Peer peer, int at, int headerLength, int payloadLength) {
        flagAuthenticated(at);
        if (auth == null) {
            txCheck.seal(claim.buffer(), at, headerLength, payloadLength);
        } else {
            txCheck.sealHeader(claim.buffer(), at, headerLength);
        }
        endSealed(peer, at, headerLength, payloadLength);
    }

    /**
     * Gives back a frame claimed and not committed: a failure between claim and commit must not leave the port
     * refusing every later claim (no more HELLOs or ACKs for any guest).
     */
    void abandonClaim() {
        NicPort p = port;
        if (p != null && claim.isLent()) {
            p.abort(claim);
        }
    }

    /** The buffer of the frame last claimed by {@link #begin}. */
    public UnsafeBuffer tx() {
        return tx;
    }

    int nodeId() {
        return nodeId;
    }

    /** Where the transport hands migration frames, checked for length, CRC or tag, and source. */
    public interface MigrationFrames {
        void onMigrationFrame(Peer peer, FrameType type, UnsafeBuffer rx, int at, int payloadLength);
    }

    /** Where the transport hands connection-manager frames, checked for length, CRC or tag, and source. */
    public interface ConnectionFrames {
        void onConnectionFrame(Peer peer, FrameType type, UnsafeBuffer rx, int at, int payloadLength);
    }
}
