package io.vmrdma.shell.internal;

import java.io.PrintStream;
import java.util.List;

import io.vmrdma.api.PeerInfo;
import org.apache.karaf.shell.support.table.ShellTable;

/**
 * Renders {@code vmrdma:peers}: one row per peer with its link address, origin, liveness, protocol version,
 * round-trip time, traffic and the congestion window of the path to it with what it follows.
 */
final class PeersReport {

    private PeersReport() {
    }

    /**
     * @param peers   the engine's peers, or null when the engine is not running
     * @param binding the NIC binding in use, or null when none is bound
     * @param only    one node id to show, or null for all
     */
    static void print(List<PeerInfo> peers, String binding, Integer only, PrintStream out) {
        if (peers == null) {
            out.println("engine not running: no peer table");
            return;
        }
        ShellTable table = new ShellTable();
        table.column("Node").alignRight();
        table.column("Address");
        table.column("Origin");
        table.column("State");
        table.column("Protocol").alignRight();
        table.column("RTT µs").alignRight();
        table.column("Sent").alignRight();
        table.column("Received").alignRight();
        table.column("Retransmissions").alignRight();
        table.column("CC");
        table.column("Window").alignRight();
        table.column("In flight").alignRight();
        table.column("Data RTT µs").alignRight();
        table.column("Target µs").alignRight();
        table.column("Losses").alignRight();
        int rows = 0;
        for (PeerInfo peer : peers) {
            if (only != null && peer.node() != only) {
                continue;
            }
            rows++;
            PeerInfo.Congestion cc = peer.congestion();
            table.addRow().addContent(peer.node(), peer.address(), peer.origin() == PeerInfo.Origin.STATIC
                    ? "static" : "discovered", peer.up() ? "up" : "down",
                    peer.protocolVersion() == 0 ? "-" : Integer.toString(peer.protocolVersion()),
                    Units.micros(peer.roundTripNanos()), peer.framesSent(), peer.framesReceived(),
                    peer.retransmissions(),
                    cc.algorithm().isEmpty() ? "-" : cc.algorithm(),
                    cc.windowBytes() < 0 ? "-" : Units.bytes(cc.windowBytes()), Units.bytes(cc.inFlightBytes()),
                    Units.micros(cc.roundTripNanos()), Units.micros(cc.targetNanos()), cc.losses());
        }
        if (only != null && rows == 0) {
            out.println("node " + only + " is not in the peer table");
            return;
        }
        table.print(out);
        if (binding == null) {
            out.println("(no NIC binding in use: no frame leaves this node, peers are not probed)");
        } else if (peers.isEmpty()) {
            out.println("(no peers: add peer.<node> = <link address> to etc/io.vmrdma.engine.cfg; bindings with a "
                    + "broadcast address, loopback and packet, also discover the nodes on their segment)");
        }
    }
}
