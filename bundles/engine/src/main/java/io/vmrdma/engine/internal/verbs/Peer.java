package io.vmrdma.engine.internal.verbs;

import io.vmrdma.api.Counter;
import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.engine.internal.auth.PeerAuth;
import io.vmrdma.engine.internal.status.Counters;

/**
 * Another node, as this node knows it: its link address, how it came into the table, whether it answers, what it
 * speaks and how far away it is. Written only by the data agent; the fields the console reads are volatile.
 */
final class Peer {

    final int node;
    final Counters counters;
    volatile LinkAddress address;
    /** False for a static peer (configuration), true for one a HELLO revealed. */
    volatile boolean discovered;
    /** Heard a HELLO or HELLO_REPLY with our protocol version, and not silent for three hello periods since. */
    volatile boolean up;
    /** The protocol version it announced, 0 until heard. */
    volatile int version;
    long incarnation;
    /** When a frame from it was last accepted, if {@link #heard}. */
    volatile long lastHeardNanos;
    volatile boolean heard;
    long nextHelloNanos;
    /** The id of the one outstanding round-trip probe (a unicast HELLO), 0 when none is outstanding. */
    int probeId;
    long probeSentNanos;
    /** Smoothed round-trip time (7/8 old + 1/8 new sample), -1 until the first sample. */
    volatile long srttNanos = -1;
    /**
     * Payload bytes of all queue pairs to this node sent and not yet acknowledged; new data waits while it is at
     * {@link #WINDOW_BYTES}, so many queue pairs together cannot overrun the node's receive buffer.
     */
    long windowBytes;
    /** Keys, epoch and replay window of frame authentication; null while {@code auth = off}. */
    PeerAuth auth;

    /** Twice one queue pair's window: a single queue pair is never held back by it. */
    static final long WINDOW_BYTES = 4L << 20;

    /**
     * A peer whose {@link #counters} are its own: the node counts the same frames itself, and a retransmission is
     * counted at the node through the queue pair that made it.
     */
    Peer(int node, LinkAddress address, boolean discovered) {
        this.node = node;
        this.address = address;
        this.discovered = discovered;
        this.counters = new Counters();
    }

    /** Adds a round-trip sample. */
    void roundTrip(long sampleNanos) {
        long srtt = srttNanos;
        srttNanos = srtt < 0 ? sampleNanos : srtt + (sampleNanos - srtt) / 8;
    }

    /** A snapshot for the console; may be called from any thread. */
    PeerInfo info(long nowNanos) {
        long last = lastHeardNanos;
        return new PeerInfo(node, address, discovered ? PeerInfo.Origin.DISCOVERED : PeerInfo.Origin.STATIC, up,
                version, srttNanos, heard ? Math.max(0, nowNanos - last) : -1,
                counters.get(Counter.FRAMES_SENT), counters.get(Counter.FRAMES_RECEIVED),
                counters.get(Counter.RETRANSMISSIONS));
    }

    @Override
    public String toString() {
        return "node " + node + " at " + address;
    }
}
