package io.vmrdma.shell.internal;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import io.vmrdma.api.FrameDrop;
import io.vmrdma.api.Node;
import org.apache.karaf.shell.support.table.ShellTable;
import org.osgi.framework.Bundle;

/**
 * Renders {@code vmrdma:status}: the node's facts, the NIC binding's own counters and the frames the engine dropped by
 * cause, then the vmrdma bundles.
 */
final class StatusReport {

    static final String NONE = "none";
    static final String FALLBACK = "built-in round-robin (fallback; see vmrdma:policy)";
    private static final String BUNDLE_PREFIX = "io.vmrdma.";
    static final String AUTH_ON = "on (GMAC tags, AES-256, keys from etc/io.vmrdma.cluster.secret)";
    static final String AUTH_OFF = "OFF (auth = off): any host on the link can forge frames; trusted fabric only";

    private StatusReport() {
    }

    /** {@code defaultPassword}: whether the console still has its shipped login ({@link ConsolePassword}). */
    static void print(Node node, boolean defaultPassword, Bundle[] bundles, PrintStream out) {
        ShellTable facts = new ShellTable().noHeaders();
        facts.column("fact");
        facts.column("value");
        if (node == null) {
            facts.addRow().addContent("Engine", "not running (bundle io.vmrdma.engine is not active)");
        } else {
            facts.addRow().addContent("Node id", node.nodeId());
            facts.addRow().addContent("Protocol", Node.PROTOCOL_VERSION);
            facts.addRow().addContent("NIC binding", node.awaitingNodeId()
                    ? "none: off the wire until the cluster confirms node id " + node.nodeId()
                    : orNone(node.nicBinding()));
            Map<String, Long> nic = node.nicCounters();
            if (!nic.isEmpty()) {
                facts.addRow().addContent("NIC counters", nic.entrySet().stream()
                        .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", ")));
            }
            facts.addRow().addContent("Frame drops", frameDrops(node));
            facts.addRow().addContent("Xen backend", orNone(node.hypervisor()));
            facts.addRow().addContent("Policy", node.activePolicy().orElse(FALLBACK));
            facts.addRow().addContent("Frame authentication", node.framesAuthenticated() ? AUTH_ON : AUTH_OFF);
            facts.addRow().addContent("Discovery", node.discovery() ? "on" : "off (static peers only)");
        }
        facts.addRow().addContent("Console password",
                defaultPassword ? ConsolePassword.STATUS_DEFAULT : ConsolePassword.CHANGED);
        facts.print(out);
        out.println();

        ShellTable table = new ShellTable();
        table.column("Bundle");
        table.column("State");
        table.column("Version");
        Arrays.stream(bundles)
                .filter(b -> b.getSymbolicName() != null && b.getSymbolicName().startsWith(BUNDLE_PREFIX))
                .sorted(Comparator.comparing(Bundle::getSymbolicName))
                .forEach(b -> table.addRow().addContent(b.getSymbolicName(), stateName(b.getState()),
                        b.getVersion()));
        table.print(out);
    }

    /** Every cause with its count, the total first: "none" would hide which causes exist. */
    static String frameDrops(Node node) {
        long total = 0;
        StringBuilder causes = new StringBuilder();
        for (FrameDrop drop : FrameDrop.values()) {
            long count = node.counter(drop.counter());
            total += count;
            causes.append(", ").append(drop.description()).append(' ').append(count);
        }
        return total + " (" + causes.substring(2) + ")";
    }

    private static String orNone(Optional<String> value) {
        return value.orElse(NONE);
    }

    static String stateName(int state) {
        return switch (state) {
            case Bundle.UNINSTALLED -> "Uninstalled";
            case Bundle.INSTALLED -> "Installed";
            case Bundle.RESOLVED -> "Resolved";
            case Bundle.STARTING -> "Starting";
            case Bundle.STOPPING -> "Stopping";
            case Bundle.ACTIVE -> "Active";
            default -> "Unknown(" + state + ")";
        };
    }
}
