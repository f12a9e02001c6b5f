package io.vmrdma.engine.internal.transport;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import io.vmrdma.api.Counter;
import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.engine.internal.auth.PeerAuth;
import io.vmrdma.engine.internal.congestion.CongestionControl;
import io.vmrdma.engine.internal.status.Counters;

/**
 * Another node, as this node knows it: its link address, how it came into the table, whether it answers, what it
 * speaks and how far away it is. Written only by the data agent; the fields the console reads are volatile.
 */
public final class Peer {

    /** {@link #windowBytes}, written by the data agent with release and read by the console with acquire. */
    private static final VarHandle IN_FLIGHT;

    static {
        try {
            IN_FLIGHT = MethodHandles.lookup().findVarHandle(Peer.class, "windowBytes", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int node;
    private final Counters counters;
    private volatile LinkAddress address;
    /** False for a static peer (configuration), true for one a HELLO revealed. */
    private volatile boolean discovered;
    /** Heard a HELLO or HELLO_REPLY with our protocol version, and not silent for three hello periods since. */
    private volatile boolean up;
    /** The protocol version it announced, 0 until heard. */
    private volatile int version;
    /** When a frame from it was last accepted, if {@link #heard}. */
    private volatile long lastHeardNanos;
    private volatile boolean heard;
    private long nextHelloNanos;
    /** The id of the one outstanding round-trip probe (a unicast HELLO), 0 when none is outstanding. */
    private int probeId;
    private long probeSentNanos;
    /** Smoothed round-trip time (7/8 old + 1/8 new sample), -1 until the first sample. */
    private volatile long srttNanos = -1;
    /**
     * Payload bytes of all queue pairs to this node sent and not yet acknowledged; new data waits while it is at the
     * {@link #congestion} window, so many queue pairs together cannot overrun the node's receive buffer, nor the
     * queue of a bottleneck on the way to it.
     */
    private long windowBytes;
    /** How many bytes may be in flight to it, from what its acknowledgements say. */
    private volatile CongestionControl congestion;
    /** Keys, epoch and replay window of frame authentication; null while {@code auth = off}. */
    private PeerAuth auth;

    /**
     * A peer whose {@link #counters} are its own: the node counts the same frames itself, and a retransmission is
     * counted at the node through the queue pair that made it.
     */
    Peer(int node, LinkAddress address, boolean discovered, PeerAuth auth, CongestionControl congestion,
         long nextHelloNanos) {
        this.node = node;
        this.congestion = congestion;
        this.address = address;
        this.discovered = discovered;
        this.auth = auth;
        this.nextHelloNanos = nextHelloNanos;
        this.counters = new Counters();
    }

    public int node() {
        return node;
    }

    public LinkAddress address() {
        return address;
    }

    /** Whether it answers hellos with our protocol version. */
    public boolean up() {
        return up;
    }

    /** The protocol version it announced, 0 until heard. */
    public int version() {
        return version;
    }

    Counters counters() {
        return counters;
    }

    boolean discovered() {
        return discovered;
    }

    /** A discovered peer the static table names at the same address: it stays, as a static one. */
    void becomeStatic() {
        discovered = false;
    }

    /** A discovered peer speaks from a new address (it restarted elsewhere, and auth is off). */
    void moveTo(LinkAddress newAddress) {
        address = newAddress;
    }

    PeerAuth auth() {
        return auth;
    }

    void auth(PeerAuth keys) {
        auth = keys;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Liveness

    /** A frame from it was accepted. */
    void heard(long nowNanos) {
        lastHeardNanos = nowNanos;
        heard = true;
    }

    long lastHeardNanos() {
        return lastHeardNanos;
    }

    /** It answered with protocol {@code announced}; returns the version it announced before. */
    int announced(int announced) {
        int previous = version;
        version = announced;
        return previous;
    }

    /** Marks it up; false when it was up already. */
    boolean markUp() {
        boolean was = up;
        up = true;
        return !was;
    }

    void markDown() {
        up = false;
    }

    /** Whether it is up and has not been heard for {@code silenceNanos}. */
    boolean silentFor(long nowNanos, long silenceNanos) {
        return up && nowNanos - lastHeardNanos > silenceNanos;
    }

    /** Time without a port does not count: hellos start again from {@code nowNanos}, silence too. */
    void rebase(long nowNanos) {
        nextHelloNanos = nowNanos;
        if (heard) {
            lastHeardNanos = nowNanos;
        }
    }

    /** Whether its next hello is due; if so, the one after is {@code intervalNanos} later. */
    boolean helloDue(long nowNanos, long intervalNanos) {
        if (nowNanos - nextHelloNanos >= 0) {
            nextHelloNanos = nowNanos + intervalNanos;
            return true;
        }
        return false;
    }

    /** When its next hello is due. */
    long nextHelloNanos() {
        return nextHelloNanos;
    }

    /** Its next hello goes in the next duty cycle. */
    void helloNow(long nowNanos) {
        nextHelloNanos = nowNanos;
    }

    /** A round-trip probe {@code id} goes to it now; an unanswered earlier one is given up. */
    void probe(int id, long nowNanos) {
        probeId = id;
        probeSentNanos = nowNanos;
    }

    /** A HELLO_REPLY echoed probe {@code id}: a round-trip sample when it answers the outstanding one. */
    void probeAnswered(int id, long nowNanos) {
        if (id != 0 && id == probeId) {
            long sample = nowNanos - probeSentNanos;
            long srtt = srttNanos;
            srttNanos = srtt < 0 ? sample : srtt + (sample - srtt) / 8;
            probeId = 0;
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // The window of bytes all queue pairs to it have in flight

    /** Payload bytes all queue pairs to it have sent and not had acknowledged; the data agent's thread. */
    public long windowBytes() {
        return windowBytes;
    }

    /** Whether {@code length} more bytes would overrun its window. */
    boolean windowFull(int length) {
        return windowBytes + length > congestion.windowBytes();
    }

    /** Bytes that may still go out to it before its window is full; negative when it is over. */
    long windowRoom() {
        return congestion.windowBytes() - windowBytes;
    }

    /** The congestion control of the path to it; the data agent's thread, its getters any thread. */
    public CongestionControl congestion() {
        return congestion;
    }

    /** Congestion control was configured anew: the window starts afresh; bytes in flight stay counted. */
    void congestion(CongestionControl controller) {
        congestion = controller;
    }

    void addWindow(long bytes) {
        IN_FLIGHT.setRelease(this, windowBytes + bytes);
    }

    /** A snapshot for the console; may be called from any thread. */
    PeerInfo info(long nowNanos) {
        long last = lastHeardNanos;
        return new PeerInfo(node, address, discovered ? PeerInfo.Origin.DISCOVERED : PeerInfo.Origin.STATIC, up,
                version, srttNanos, heard ? Math.max(0, nowNanos - last) : -1,
                counters.get(Counter.FRAMES_SENT), counters.get(Counter.FRAMES_RECEIVED),
                counters.get(Counter.RETRANSMISSIONS), congestionInfo());
    }

    private PeerInfo.Congestion congestionInfo() {
        CongestionControl cc = congestion;
        return new PeerInfo.Congestion(cc.name(), cc.windowBytes(), (long) IN_FLIGHT.getAcquire(this), cc.rttNanos(),
                cc.rttTargetNanos(), cc.losses());
    }

    @Override
    public String toString() {
        return "node " + node + " at " + address;
    }
}
