package io.vmrdma.shell.internal;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;

import io.vmrdma.api.cluster.ClusterNode;
import io.vmrdma.api.cluster.ClusterView;
import org.apache.karaf.shell.support.table.ShellTable;

/** Renders {@code vmrdma:cluster} and the outcomes of {@code vmrdma:cluster-install}. */
final class ClusterReport {

    static final String STANDALONE = "standalone: no cluster (feature:install vmrdma-cluster and write "
            + "etc/io.vmrdma.cluster.cfg, see docs/cluster.md)";

    private ClusterReport() {
    }

    static void print(ClusterView cluster, PrintStream out) {
        if (cluster == null) {
            out.println(STANDALONE);
            return;
        }
        ShellTable table = new ShellTable();
        table.column("Node").alignRight();
        table.column("Address");
        table.column("State");
        table.column("Policy");
        table.column("VMs").alignRight();
        table.column("Frames sent").alignRight();
        table.column("Frames received").alignRight();
        table.column("Secret");
        List<ClusterNode> nodes = cluster.nodes();
        for (ClusterNode node : nodes) {
            table.addRow().addContent(node.nodeId(), node.address(), state(node.state()), node.policy(),
                    node.domains(), node.framesSent(), node.framesReceived(), node.secret());
        }
        table.print(out);
        if (nodes.stream().map(ClusterNode::secret).distinct().count() > 1) {
            out.println("cluster secrets differ: nodes with different secrets refuse each other's frames; copy one "
                    + "etc/io.vmrdma.cluster.secret to every node (docs/operations.md)");
        }
        out.println(cluster.hasMajority()
                ? "majority: yes (" + cluster.configuredMembers() + " members configured): settings may change"
                : "majority: no (" + cluster.configuredMembers() + " members configured): settings last agreed "
                        + "stay, changes are refused");
        StringBuilder counts = new StringBuilder();
        cluster.counters().forEach((name, value) -> counts.append(counts.length() == 0 ? "" : ", ")
                .append(name).append(' ').append(value));
        out.println(counts);
    }

    static void printOutcomes(String feature, Map<Integer, String> outcomes, PrintStream out) {
        ShellTable table = new ShellTable();
        table.column("Node").alignRight();
        table.column(feature);
        outcomes.forEach((node, outcome) -> table.addRow().addContent(node, outcome));
        table.print(out);
    }

    private static String state(ClusterNode.State state) {
        return switch (state) {
            case SELF -> "this node";
            case UP -> "up";
            case GONE -> "gone";
        };
    }
}
