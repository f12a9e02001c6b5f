package io.vmrdma.api;

import io.vmrdma.api.nic.LinkAddress;

/**
 * Another node as this node knows it, at one moment: where it is on the link, how it came into the peer table,
 * whether it answers, what it speaks, how far away it is and what went to and from it.
 *
 * <p>Since 0.2.0 of this package.
 *
 * @param node             the peer's node id
 * @param address          its link address on the NIC binding in use
 * @param origin           whether the operator configured it or a HELLO revealed it
 * @param up               whether it answered a HELLO with this node's protocol version within the last three hello
 *                         periods
 * @param protocolVersion  the protocol version it announced, 0 while it has not been heard
 * @param roundTripNanos   smoothed round-trip time of HELLO / HELLO_REPLY probes in nanoseconds, -1 until measured
 * @param lastHeardNanosAgo how long ago the last frame from it was accepted, in nanoseconds; -1 when never
 * @param framesSent       frames this node sent to it
 * @param framesReceived   frames accepted from it
 * @param retransmissions  data frames sent to it again
 * @param congestion       how much this node may send to it and why (since 0.8.0)
 */
public record PeerInfo(int node, LinkAddress address, Origin origin, boolean up, int protocolVersion,
                       long roundTripNanos, long lastHeardNanosAgo, long framesSent, long framesReceived,
                       long retransmissions, Congestion congestion) {

    /** A peer as before 0.8.0 of this package, whose congestion window is not known. */
    public PeerInfo(int node, LinkAddress address, Origin origin, boolean up, int protocolVersion,
                    long roundTripNanos, long lastHeardNanosAgo, long framesSent, long framesReceived,
                    long retransmissions) {
        this(node, address, origin, up, protocolVersion, roundTripNanos, lastHeardNanosAgo, framesSent,
                framesReceived, retransmissions, Congestion.UNKNOWN);
    }

    /**
     * The congestion control of the path to a peer: the most payload all queue pairs to it may have unacknowledged,
     * what they have, and the signals the window follows. Since 0.8.0 of this package.
     *
     * @param algorithm       {@code delay} or {@code off} (the engine's {@code congestionControl}); empty when unknown
     * @param windowBytes     the congestion window, -1 when unknown
     * @param inFlightBytes   payload sent to it and not yet acknowledged
     * @param roundTripNanos  smoothed round trip of data packets from acknowledgements, -1 until measured
     * @param targetNanos     the round trip above which the window shrinks, -1 without one
     * @param losses          losses the window reacted to (timeouts, holes the acknowledgements show)
     */
    public record Congestion(String algorithm, long windowBytes, long inFlightBytes, long roundTripNanos,
                             long targetNanos, long losses) {

        /** Nothing known: a peer from an engine before congestion control. */
        public static final Congestion UNKNOWN = new Congestion("", -1, 0, -1, -1, 0);
    }

    /** How a peer came into the peer table. */
    public enum Origin {
        /** From the static peer table in configuration ({@code peer.<node> = <address>}); always wins. */
        STATIC,
        /** From a HELLO heard on the link segment (the binding's broadcast address). */
        DISCOVERED
    }
}
