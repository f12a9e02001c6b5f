package io.vmrdma.engine.internal.verbs;

import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.engine.internal.status.Counters;

/** Another node, as this node knows it: its link address, whether it answers, and what it speaks. */
final class Peer {

    final int node;
    final LinkAddress address;
    final Counters counters;
    /** Heard a HELLO or HELLO_REPLY with our protocol version. */
    boolean up;
    /** The protocol version it announced, 0 until heard. */
    int version;
    long incarnation;
    long lastHeardNanos;
    long nextHelloNanos;

    Peer(int node, LinkAddress address, Counters nodeCounters) {
        this.node = node;
        this.address = address;
        this.counters = new Counters(nodeCounters);
    }

    @Override
    public String toString() {
        return "node " + node + " at " + address;
    }
}
