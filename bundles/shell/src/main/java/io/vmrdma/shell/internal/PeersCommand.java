package io.vmrdma.shell.internal;

import io.vmrdma.api.Node;
import io.vmrdma.api.PeerRegistry;
import io.vmrdma.shell.internal.completers.PeerNodeCompleter;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "vmrdma", name = "peers",
        detailedDescription = "A static peer comes from peer.<node> = <link address> in etc/io.vmrdma.engine.cfg, "
                + "a discovered one from a HELLO on the segment. A peer is up while it answers HELLOs with this "
                + "protocol version; RTT is the smoothed HELLO round trip. Retransmissions that keep growing mean "
                + "loss on the link or a peer too slow to keep up (see vmrdma:stats for rates).",
        description = "Lists the other nodes: link address, static or discovered, up or down, protocol, round-trip "
                + "time and traffic")
@Service
public class PeersCommand implements Action {

    @Argument(index = 0, name = "node", description = "Only this node id")
    @Completion(PeerNodeCompleter.class)
    String node;

    @Reference(optional = true)
    PeerRegistry peers;

    @Reference(optional = true)
    Node self;

    @Override
    public Object execute() {
        Integer only = null;
        if (node != null) {
            try {
                only = Integer.valueOf(node.trim());
            } catch (NumberFormatException e) {
                System.out.println("not a node id (0..65535): " + node);
                return null;
            }
        }
        PeersReport.print(peers == null ? null : peers.peers(), self == null ? null : self.nicBinding().orElse(null),
                only, System.out);
        return null;
    }
}
