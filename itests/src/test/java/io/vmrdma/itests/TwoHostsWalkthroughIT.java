package io.vmrdma.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
                long pid = instancePid(distribution.resolve("two-hosts").resolve(host));
                assertFalse("host " + host + "'s Karaf (pid " + pid + ") still runs",
                        pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
            }
        }
        assertEquals("up:\n" + up.output, 0, up.status);
        assertFinds(up.output, "host a \\(node 1\\) sees node 2 up", "host b \\(node 2\\) sees node 1 up",
                "bench server vmrdma-bench-serve \\(dom \\d+\\) serving on node 2, service 18515",
                "RDMA_Write BW Test", "local node 1 dom \\d+ qpn \\d+, server on node 2 service 18515\\R",
                "(?m)^ #bytes\\s+#iterations\\s+BW peak\\[MB/sec\\]\\s+BW average\\[MB/sec\\]\\s+MsgRate\\[Mpps\\]$",
                "(?m)^ 65536\\s+2000\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d{6}$", "tests served: 1");
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
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
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

    private static long instancePid(Path instance) throws IOException {
        Path registry = instance.resolve("instances/instance.properties");
        if (!Files.exists(registry)) {
            return -1;
        }
        for (String line : Files.readAllLines(registry)) {
            if (line.startsWith("item.0.pid")) {
                return Long.parseLong(line.substring(line.indexOf('=') + 1).trim());
            }
        }
        return -1;
    }

    private static Result run(int timeoutSeconds, String... command) throws Exception {
        return run(new ProcessBuilder(command).redirectErrorStream(true), timeoutSeconds);
    }

    /** Runs a command to its end; one that overruns is killed with its children and fails the test. */
    private static Result run(ProcessBuilder builder, int timeoutSeconds) throws Exception {
        Process process = builder.start();
        process.getOutputStream().close();
        StringBuilder output = new StringBuilder();
        Thread reader = new Thread(() -> {
            try {
                output.append(new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                output.append("(output lost: ").append(e.getMessage()).append(')');
            }
        });
        reader.start();
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            reader.join(5000);
            throw new AssertionError(builder.command() + " did not finish in " + timeoutSeconds + " s:\n" + output);
        }
        reader.join();
        System.out.println(String.join(" ", builder.command()) + ":\n" + output);
        return new Result(process.exitValue(), output.toString());
    }

    private static void assertFinds(String text, String... patterns) {
        for (String pattern : patterns) {
            assertTrue("/" + pattern + "/ not in:\n" + text, Pattern.compile(pattern).matcher(text).find());
        }
    }

    private record Result(int status, String output) {
    }
}
