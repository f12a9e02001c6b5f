package io.vmrdma.engine.internal.transport;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import java.util.function.Supplier;

import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.engine.internal.auth.PeerAuth;
import io.vmrdma.engine.internal.congestion.CongestionControl;
import io.vmrdma.engine.internal.congestion.CongestionSettings;
import io.vmrdma.engine.internal.status.LogBudget;
import org.agrona.collections.Int2ObjectHashMap;

/**
 * The nodes this node talks to: the static peer table from configuration, plus peers discovered by HELLOs on the link
 * segment, and whether each is up. A static entry always wins over discovery. Discovery is bounded: at most
 * {@link #MAX_DISCOVERED} discovered peers, a newcomer taking the place of the one down longest. A peer not heard for
 * {@link #DOWN_AFTER_PERIODS} hello periods is marked down.
 *
 * <p>Written by the data agent only; {@link #infos} is the snapshot other threads read, republished whenever the
 * table changes.
 */
public final class PeerTable {

    /** Most peers discovery adds; HELLOs from further unknown nodes are dropped and counted. */
    public static final int MAX_DISCOVERED = 1024;
    /** A peer not heard for this many hello periods is marked down. */
    static final int DOWN_AFTER_PERIODS = 3;

    private final Int2ObjectHashMap<Peer> peers = new Int2ObjectHashMap<>();
    /** The peers in node order, republished whenever the table changes: what other threads read. */
    private volatile Peer[] view = new Peer[0];
    private int discovered;
    /** Peer-table lines (discovered, up, down, moved, forgotten, refused): HELLOs from anyone can cause them. */
    private final LogBudget log;
    /** The authentication keys for a node, or null while {@code auth = off}. */
    private final IntFunction<PeerAuth> keys;
    /** Makes each peer's congestion control, as configured. */
    private Supplier<CongestionControl> congestion = CongestionSettings.DEFAULTS::newController;

    PeerTable(LogBudget log, IntFunction<PeerAuth> keys) {
        this.log = log;
        this.keys = keys;
    }

    /** The peer with id {@code node}, or null. */
    public Peer get(int node) {
        return peers.get(node);
    }

    Iterable<Peer> all() {
        return peers.values();
    }

    /**
     * Adds or replaces a static peer. A peer already at that address keeps its state and counters (a discovered one
     * becomes static); at another address it starts afresh.
     */
    void putStatic(int node, LinkAddress address, long nowNanos) {
        Peer existing = peers.get(node);
        if (existing != null && existing.address().equals(address)) {
            if (existing.discovered()) {
                existing.becomeStatic();
                discovered--;
            }
        } else {
            if (existing != null && existing.discovered()) {
                discovered--;
            }
            peers.put(node, new Peer(node, address, false, keys.apply(node), congestion.get(), nowNanos));
        }
        publish();
    }

    /**
     * Makes {@code table} the static peer table: entries added or changed as {@link #putStatic} does; static peers no
     * longer in it leave the table; discovered peers stay unless the table names them.
     */
    void replaceStatic(Map<Integer, LinkAddress> table, long nowNanos) {
        List<Integer> gone = new ArrayList<>();
        for (Peer peer : peers.values()) {
            if (!peer.discovered() && !table.containsKey(peer.node())) {
                gone.add(peer.node());
            }
        }
        gone.forEach(peers::remove);
        table.forEach((node, address) -> putStatic(node, address, nowNanos));
        publish();
    }

    /**
     * A new discovered peer; when the table already holds {@link #MAX_DISCOVERED}, it takes the place of the discovered
     * peer that has been down longest, so a flood of HELLOs from made-up nodes that then fall silent cannot keep real
     * nodes out for good. While every discovered peer is up the newcomer is refused (null).
     */
    Peer discover(int node, LinkAddress address, long nowNanos) {
        if (discovered >= MAX_DISCOVERED) {
            Peer stalest = null;
            for (Peer p : peers.values()) {
                if (p.discovered() && !p.up()
                        && (stalest == null || p.lastHeardNanos() - stalest.lastHeardNanos() < 0)) {
                    stalest = p;
                }
            }
            if (stalest == null) {
                return null;
            }
            peers.remove(stalest.node());
            discovered--;
            log.info("node {} at {} forgotten: down, and the table of discovered peers is full",
                    stalest.node(), stalest.address());
        }
        Peer peer = new Peer(node, address, true, keys.apply(node), congestion.get(), nowNanos);
        peers.put(node, peer);
        discovered++;
        publish();
        log.info("node {} discovered at {}", node, address);
        return peer;
    }

    /**
     * A discovered peer speaks from another address while authenticating: it starts afresh there (a captured HELLO
     * replayed from elsewhere carries a good tag too), up only once it answers a challenge sent there.
     */
    Peer rediscover(Peer moved, LinkAddress address, long nowNanos) {
        peers.remove(moved.node());
        discovered--;
        return discover(moved.node(), address, nowNanos);
    }

    /** Authentication was switched: every peer gets its keys afresh (or none). */
    void rekey() {
        for (Peer peer : peers.values()) {
            peer.auth(keys.apply(peer.node()));
        }
    }

    /** Congestion control was configured: every peer, and every peer to come, gets a controller from {@code settings}. */
    void congestion(CongestionSettings settings) {
        congestion = settings::newController;
        for (Peer peer : peers.values()) {
            peer.congestion(settings.newController());
        }
    }

    /** Time without a port does not count against peers: hellos and liveness start again from now. */
    void rebase(long nowNanos) {
        for (Peer peer : peers.values()) {
            peer.rebase(nowNanos);
        }
    }

    /** Marks {@code peer} down when it is up but not heard for {@link #DOWN_AFTER_PERIODS} hello periods. */
    void markDownIfSilent(Peer peer, long nowNanos, long helloIntervalNanos) {
        if (peer.silentFor(nowNanos, DOWN_AFTER_PERIODS * helloIntervalNanos)) {
            peer.markDown();
            log.warn("node {} at {} not heard for {} hello periods: down", peer.node(), peer.address(),
                    DOWN_AFTER_PERIODS);
        }
    }

    /**
     * Nanoseconds from {@code nowNanos} until a peer's timer is due (a hello to send, or an up peer whose silence would
     * mark it down), negative when one is late; {@code Long.MAX_VALUE} for no peers.
     */
    long nanosUntilTimer(long nowNanos, long helloIntervalNanos) {
        long silence = DOWN_AFTER_PERIODS * helloIntervalNanos;
        long earliest = Long.MAX_VALUE;
        for (Peer peer : peers.values()) {
            earliest = Math.min(earliest, peer.nextHelloNanos() - nowNanos);
            if (peer.up()) {
                // markDownIfSilent looks for silence longer than this, so one nanosecond past it.
                earliest = Math.min(earliest, peer.lastHeardNanos() + silence + 1 - nowNanos);
            }
        }
        return earliest;
    }

    private void publish() {
        Peer[] all = peers.values().toArray(new Peer[0]);
        Arrays.sort(all, Comparator.comparingInt(Peer::node));
        view = all;
    }

    /** A snapshot of every peer, in node order; any thread. */
    List<PeerInfo> infos(long nowNanos) {
        Peer[] all = view;
        List<PeerInfo> infos = new ArrayList<>(all.length);
        for (Peer peer : all) {
            infos.add(peer.info(nowNanos));
        }
        return infos;
    }
}
