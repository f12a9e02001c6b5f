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
 */
public record PeerInfo(int node, LinkAddress address, Origin origin, boolean up, int protocolVersion,
                       long roundTripNanos, long lastHeardNanosAgo, long framesSent, long framesReceived,
                       long retransmissions) {

    /** How a peer came into the peer table. */
    public enum Origin {
        /** From the static peer table in configuration ({@code peer.<node> = <address>}); always wins. */
        STATIC,
        /** From a HELLO heard on the link segment (the binding's broadcast address). */
        DISCOVERED
    }
}
