package io.vmrdma.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.Test;

/**
 * The first command an operator types into {@code ./run.sh} works even when typed at once, while the node still
 * boots: {@code etc/scripts/vmrdma-ready.script} holds the prompt until the vmrdma features have started, and the
 * keystrokes wait in the terminal meanwhile (before it, the answer was "Command not found: vmrdma:status"). Boots the
 * tar.gz the build made with its console on a pipe, writes {@code vmrdma:status} before the JVM has even started, and
 * expects its report.
 */
public class FirstCommandIT {

    private static final long BOOT_LIMIT_NS = TimeUnit.SECONDS.toNanos(150);

    @Test
    public void commandTypedBeforeThePromptRunsOnceVmrdmaHasStarted() throws Exception {
        Path distribution = unpack();
        setPorts(distribution);
        Path home = Files.createDirectories(Path.of("target", "first-command-home").toAbsolutePath());
        ProcessBuilder builder = new ProcessBuilder(distribution.resolve("bin/karaf").toString())
                .directory(distribution.toFile())
                .redirectErrorStream(true);
        builder.environment().put("EXTRA_JAVA_OPTS", "-Duser.home=" + home);
        builder.environment().put("TERM", "dumb");
        Process karaf = builder.start();
        StringBuffer output = new StringBuffer();
        Thread reader = new Thread(() -> copy(karaf.getInputStream(), output), "karaf-output");
        reader.start();
        try {
            OutputStream console = karaf.getOutputStream();
            console.write("vmrdma:status\n".getBytes(StandardCharsets.UTF_8));
            console.flush();
            long deadline = System.nanoTime() + BOOT_LIMIT_NS;
            while (!output.toString().contains("Node id") && !output.toString().contains("Command not found")
                    && karaf.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            console.write("logout\n".getBytes(StandardCharsets.UTF_8));
            console.flush();
            assertTrue("Karaf did not stop after logout:\n" + output, karaf.waitFor(60, TimeUnit.SECONDS));
        } finally {
            karaf.descendants().forEach(ProcessHandle::destroyForcibly);
            karaf.destroyForcibly();
            reader.join(5000);
        }
        String text = output.toString();
        System.out.println("bin/karaf:\n" + text);
        assertFalse(text, text.contains("Command not found"));
        assertFalse(text, text.contains("Error in initialization script"));
        assertTrue(text, text.contains("Node id"));
        assertTrue(text, text.contains("NIC binding"));
        assertEquals(0, karaf.exitValue());
    }

    /** The tar.gz the build made, unpacked fresh. */
    private static Path unpack() throws Exception {
        File archive = new File(System.getProperty("vmrdma.distribution"));
        assertTrue("distribution not built: " + archive, archive.isFile());
        Path into = Path.of("target", "first-command-it").toAbsolutePath();
        run("rm", "-rf", into.toString());
        Files.createDirectories(into);
        run("tar", "xzf", archive.getAbsolutePath(), "-C", into.toString());
        try (var entries = Files.list(into)) {
            return entries.findFirst().orElseThrow();
        }
    }

    /** Free ports for SSH and JMX: other instances may run on this machine. */
    private static void setPorts(Path distribution) throws IOException {
        Path shell = distribution.resolve("etc/org.apache.karaf.shell.cfg");
        Files.writeString(shell, Files.readString(shell).replaceAll("(?m)^sshPort = .*$", "sshPort = " + freePort()));
        Path management = distribution.resolve("etc/org.apache.karaf.management.cfg");
        Files.writeString(management, Files.readString(management)
                .replaceAll("(?m)^rmiRegistryPort = .*$", "rmiRegistryPort = " + freePort())
                .replaceAll("(?m)^rmiServerPort = .*$", "rmiServerPort = " + freePort()));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static void copy(InputStream in, StringBuffer into) {
        byte[] buffer = new byte[8192];
        try {
            for (int n; (n = in.read(buffer)) > 0;) {
                into.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            into.append("(output lost: ").append(e.getMessage()).append(')');
        }
    }

    private static void run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(String.join(" ", command) + " did not finish", process.waitFor(120, TimeUnit.SECONDS));
        assertEquals(String.join(" ", command) + ":\n" + output, 0, process.exitValue());
    }
}
