package io.vmrdma.shell.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import io.vmrdma.api.Node;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.Version;

class StatusReportTest {

    private static Bundle bundle(String name, int state) {
        return (Bundle) Proxy.newProxyInstance(Bundle.class.getClassLoader(), new Class<?>[] {Bundle.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getSymbolicName" -> name;
                    case "getState" -> state;
                    case "getVersion" -> Version.parseVersion("0.1.0");
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    private static Node node(Optional<String> nic, Optional<String> xen, Optional<String> policy) {
        return node(nic, xen, policy, false);
    }

    private static Node node(Optional<String> nic, Optional<String> xen, Optional<String> policy,
                             boolean awaitingNodeId) {
        return new Node() {
            @Override
            public int nodeId() {
                return 7;
            }

            @Override
            public Optional<String> nicBinding() {
                return nic;
            }

            @Override
            public Optional<String> hypervisor() {
                return xen;
            }

            @Override
            public Optional<String> activePolicy() {
                return policy;
            }

            /** Every counter reads its own id, so each cause shows a number of its own. */
            @Override
            public long counter(io.vmrdma.api.Counter counter) {
                return counter.id();
            }

            @Override
            public Map<String, Long> nicCounters() {
                if (nic.isEmpty()) {
                    return Map.of();
                }
                Map<String, Long> counters = new LinkedHashMap<>();
                counters.put("runts", 3L);
                counters.put("kernelDrops", 12L);
                return counters;
            }

            @Override
            public boolean awaitingNodeId() {
                return awaitingNodeId;
            }
        };
    }

    private static String render(Node node, Bundle... bundles) {
        return render(node, false, bundles);
    }

    private static String render(Node node, boolean defaultPassword, Bundle... bundles) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        StatusReport.print(node, defaultPassword, bundles, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void showsTheFourFactsAndOnlyVmrdmaBundles() {
        String out = render(node(Optional.of("loopback"), Optional.of("sim"), Optional.of("drr")),
                bundle("io.vmrdma.engine", Bundle.ACTIVE), bundle("org.apache.felix.scr", Bundle.ACTIVE),
                bundle("io.vmrdma.api", Bundle.RESOLVED));
        assertThat(out).containsPattern("Node id\\s+\\S\\s+7")
                .containsPattern("NIC binding\\s+\\S\\s+loopback")
                .containsPattern("NIC counters\\s+\\S\\s+runts 3, kernelDrops 12")
                .containsPattern("Xen backend\\s+\\S\\s+sim")
                .containsPattern("Policy\\s+\\S\\s+drr")
                .containsPattern("Frame authentication\\s+\\S\\s+OFF \\(auth = off\\)")
                .containsPattern("Discovery\\s+\\S\\s+on")
                .containsPattern("io.vmrdma.api\\s+\\S\\s+Resolved\\s+\\S\\s+0.1.0")
                .containsPattern("io.vmrdma.engine\\s+\\S\\s+Active")
                .doesNotContain("felix");
        assertThat(out.indexOf("io.vmrdma.api")).isLessThan(out.indexOf("io.vmrdma.engine"));
    }

    @Test
    void showsTheFramesDroppedByEveryCauseWithTheirTotal() {
        String out = render(node(Optional.of("loopback"), Optional.of("sim"), Optional.of("drr")));
        long total = java.util.Arrays.stream(io.vmrdma.api.FrameDrop.values()).mapToLong(d -> d.counter().id()).sum();
        assertThat(out).containsPattern("Frame drops\\s+\\S\\s+" + total + " \\(header CRC 40, payload CRC 49, "
                + "malformed 42, unauthenticated 54, replayed 55, spoofed 50, unknown peer 43, unknown QP 44, "
                + "duplicates 39, out of window 41, stray control 51, partition refused 23\\)");
    }

    @Test
    void saysNoneForWhatIsNotBoundAndWhenTheBuiltInPolicyStandsIn() {
        String out = render(node(Optional.empty(), Optional.empty(), Optional.empty()));
        assertThat(out).containsPattern("NIC binding\\s+\\S\\s+none")
                .doesNotContain("NIC counters")
                .containsPattern("Xen backend\\s+\\S\\s+none")
                .containsPattern("Policy\\s+\\S\\s+built-in round-robin \\(fallback");
    }

    @Test
    void saysWhenTheEngineWaitsForTheClusterToConfirmItsNodeId() {
        assertThat(render(node(Optional.empty(), Optional.of("sim"), Optional.of("rr"), true)))
                .containsPattern("NIC binding\\s+\\S\\s+none: off the wire until the cluster confirms node id 7");
    }

    @Test
    void saysWhileTheConsolePasswordIsTheDefaultAndHowToChangeIt() {
        Node node = node(Optional.of("loopback"), Optional.of("sim"), Optional.of("drr"));
        assertThat(render(node, true)).containsPattern("Console password\\s+\\S\\s+STILL karaf/karaf, the default")
                .contains("etc/users.properties: karaf = <new password>,_g_:admingroup");
        assertThat(render(null, true)).as("with the engine down too").contains("STILL karaf/karaf");
        assertThat(render(node, false)).containsPattern("Console password\\s+\\S\\s+changed from the default")
                .doesNotContain("karaf/karaf");
    }

    @Test
    void saysSoWhenTheEngineIsNotRunning() {
        assertThat(render(null, bundle("io.vmrdma.engine", Bundle.RESOLVED)))
                .contains("not running")
                .containsPattern("io.vmrdma.engine\\s+\\S\\s+Resolved");
    }
}
