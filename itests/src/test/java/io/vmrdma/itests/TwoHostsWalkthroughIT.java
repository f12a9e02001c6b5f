package io.vmrdma.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import org.junit.Test;

/**
 * The two-host walkthrough of docs/operations.md as a newcomer runs it, from the distribution the build made:
 * {@code bin/vmrdma-two-hosts up} (two network namespaces over veth, an instance of the distribution in each, node 1
 * and node 2 on nic.packet, each seeing the other, a bench server guest on B and vmrdma:bench from a guest on A), then
 * {@code down}, after which no namespace and no instance is left, whether or not {@code up} succeeded. Needs root
 * and iproute2, as the nic.packet tests do; without them it fails rather than skips.
 *
 * <p>The instances run with an empty home directory, as on a fresh dom0: Karaf falls back to {@code ~/.m2/repository}
 * for an artifact missing from the distribution's {@code system/}, and the build machine's own repository would hide
 * one. The script's waits end on their own (150 s per console, 60 s per peer) with an excerpt of the log; the
 * timeout here is only for a script that hangs.
 */
public class TwoHostsWalkthroughIT {

    private static final String PREFIX = "vmrdma-it";

    @Test
    public void upBenchesAcrossTheVethAndDownLeavesNothing() throws Exception {
        removeLeftovers();
        Path distribution = unpack();
        String prefix = PREFIX + ProcessHandle.current().pid();
        Result up = null;
        try {
            up = script(distribution, prefix, 600, "up", "-n", "2000");
        } finally {
            Result down = script(distribution, prefix, 120, "down");
            assertEquals("down:\n" + down.output, 0, down.status);
            String namespaces = run(30, "ip", "netns", "list").output;
            assertFalse(namespaces, namespaces.contains(prefix + "-a") || namespaces.contains(prefix + "-b"));
            for (String host : new String[] {"a", "b"}) {
                Path instance = distribution.resolve("two-hosts").resolve(host);
                assertEquals("host " + host + "'s Karaf still runs", List.of(), karafProcesses(instance));
            }
        }
        assertEquals("up:\n" + up.output, 0, up.status);
        for (String host : new String[] {"a", "b"}) {
            // A fresh instance with vmrdma-nic-packet added to its boot features provisions once and refreshes
            // nothing: a refresh of the bundles the features service is wired to is what hung boots before.
            String log =
                    Files.readString(distribution.resolve("two-hosts").resolve(host).resolve("data/log/karaf.log"));
            assertFalse("host " + host + " refreshed bundles while booting:\n" + log,
                    log.contains("Refreshing bundles:") || log.contains("Stopping bundles:"));
        }
        assertFinds(up.output, "host a \\(node 1\\) sees node 2 up", "host b \\(node 2\\) sees node 1 up",
                "bench server vmrdma-bench-serve \\(dom \\d+\\) serving on node 2, service 18515",
                "RDMA_Write BW Test", "local node 1 dom \\d+ qpn \\d+, server on node 2 service 18515\\R",
                "(?m)^ #bytes\\s+#iterations\\s+BW peak\\[MB/sec\\]\\s+BW average\\[MB/sec\\]\\s+MsgRate\\[Mpps\\]$",
                "(?m)^ 65536\\s+2000\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d{6}$", "tests served: 1");
    }

    /**
     * {@code down} after a failed or half-finished {@code up} finds pid files that lie: Karaf's registry says 0 once
     * an instance stopped ({@code kill 0} signals the caller's whole process group), and a stale pid may belong to any
     * process by now. Here host A's pid file says 0 and host B's names a process in the script's own process group that
     * is no Karaf: {@code down} must succeed and signal neither.
     */
    @Test
    public void downSignalsOnlyProvenInstances() throws Exception {
        removeLeftovers();
        Path distribution = unpack();
        String prefix = PREFIX + ProcessHandle.current().pid();
        Path hosts = distribution.resolve("two-hosts");
        Files.createDirectories(hosts.resolve("a/instances"));
        Files.createDirectories(hosts.resolve("b"));
        Files.writeString(hosts.resolve("a/karaf.pid"), "0");
        Files.writeString(hosts.resolve("a/instances/instance.properties"), "count = 1\nitem.0.pid = 0\n");
        Path bystanderPid = hosts.resolve("bystander.pid");
        // The bystander shares the script's process group and session, so a group signal would end it.
        String shell = "sleep 300 >/dev/null 2>&1 & echo $! > \"$1\"; cp \"$1\" \"$2\"; \"$3\" down; status=$?; "
                + "if kill -0 $(cat \"$1\"); then echo bystander alive; kill $(cat \"$1\"); fi; exit $status";
        Result down = script(List.of("bash", "-c", shell, "down", bystanderPid.toString(),
                hosts.resolve("b/karaf.pid").toString(), distribution.resolve("bin/vmrdma-two-hosts").toString()),
                prefix, 120);
        assertEquals("down:\n" + down.output, 0, down.status);
        assertFinds(down.output, "bystander alive", "down: both instances stopped");
    }

    /**
     * The Wireshark dissector (issue 23) is in the tar.gz where docs/wireshark.md says, byte for byte the file
     * bundles/nic-packet's WiresharkDissectorTest decodes captures with.
     */
    @Test
    public void theDistributionShipsTheWiresharkDissector() throws Exception {
        Path shipped = unpack().resolve("share/wireshark/vmrdma.lua");
        assertTrue("no " + shipped, Files.isRegularFile(shipped));
        Path source = Path.of("..", "karaf-assembly", "src", "main", "resources", "share", "wireshark", "vmrdma.lua");
        assertEquals("the shipped dissector differs from " + source, -1L, Files.mismatch(shipped, source));
    }

    /** The tar.gz the build made, unpacked fresh, as a newcomer would. */
    private static Path unpack() throws Exception {
        File archive = new File(System.getProperty("vmrdma.distribution"));
        assertTrue("distribution not built: " + archive, archive.isFile());
        Path into = Path.of("target", "two-hosts-it").toAbsolutePath();
        run(60, "rm", "-rf", into.toString());
        Files.createDirectories(into);
        Result tar = run(120, "tar", "xzf", archive.getAbsolutePath(), "-C", into.toString());
        assertEquals(tar.output, 0, tar.status);
        try (var entries = Files.list(into)) {
            return entries.findFirst().orElseThrow();
        }
    }

    private static Result script(Path distribution, String prefix, int timeoutSeconds, String... arguments)
            throws Exception {
        List<String> command = new ArrayList<>();
        command.add(distribution.resolve("bin/vmrdma-two-hosts").toString());
        command.addAll(List.of(arguments));
        return script(command, prefix, timeoutSeconds);
    }

    /** Runs {@code command} in a session of its own: whatever it signals cannot reach this JVM's process group. */
    private static Result script(List<String> command, String prefix, int timeoutSeconds) throws Exception {
        List<String> session = new ArrayList<>(List.of("setsid", "--wait"));
        session.addAll(command);
        ProcessBuilder builder = new ProcessBuilder(session).redirectErrorStream(true);
        builder.environment().put("VMRDMA_TWO_HOSTS_PREFIX", prefix);
        Path home = Files.createDirectories(Path.of("target", "two-hosts-home").toAbsolutePath());
        builder.environment().put("EXTRA_JAVA_OPTS", "-Duser.home=" + home);
        return run(builder, timeoutSeconds);
    }

    /** Namespaces of test JVMs that were killed before their down ran. */
    private static void removeLeftovers() throws Exception {
        for (String line : run(30, "ip", "netns", "list").output.split("\\R")) {
            String name = line.split(" ")[0];
            if (name.matches(PREFIX + "\\d+-[ab]")) {
                long pid = Long.parseLong(name.substring(PREFIX.length(), name.length() - 2));
                if (ProcessHandle.of(pid).isEmpty()) {
                    run(30, "ip", "netns", "delete", name);
                }
            }
        }
    }

    /** Live Karaf JVMs whose karaf.base is {@code instance}, found by command line, not by a registry's word. */
    private static List<Long> karafProcesses(Path instance) {
        String base = "-Dkaraf.base=" + instance.toAbsolutePath().normalize();
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().arguments().map(a -> List.of(a).contains(base)).orElse(false))
                .map(ProcessHandle::pid)
                .toList();
    }

    private static Result run(int timeoutSeconds, String... command) throws Exception {
        return run(new ProcessBuilder(command).redirectErrorStream(true), timeoutSeconds);
    }

    /** Runs a command to its end and prints what it said. */
    private static Result run(ProcessBuilder builder, int timeoutSeconds) throws Exception {
        ProcessRun done = ProcessRun.of(builder, timeoutSeconds);
        System.out.println(String.join(" ", builder.command()) + ":\n" + done.output());
        return new Result(done.status(), done.output());
    }

    private static void assertFinds(String text, String... patterns) {
        for (String pattern : patterns) {
            assertTrue("/" + pattern + "/ not in:\n" + text, Pattern.compile(pattern).matcher(text).find());
        }
    }

    private record Result(int status, String output) {
    }
}
