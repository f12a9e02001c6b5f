package io.vmrdma.nic.packet.internal;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Two hosts for a test: two fresh network namespaces joined by a veth pair with the given MTU, both ends up, each
 * with a thread inside its namespace. Names are unique per JVM and run ({@code vmrdma-t<pid>-<n>a}); {@link #close}
 * deletes both namespaces (and with them the veth pair) whether or not the test passed, and creating a link first
 * removes namespaces left behind by test JVMs that no longer run (killed before they could clean up).
 *
 * <p>Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and {@code ip} from iproute2; without them creating a link fails,
 * so the tests fail rather than skip.
 */
final class VethLink implements AutoCloseable {

    private static final String PREFIX = "vmrdma-t";
    private static final AtomicInteger NEXT = new AtomicInteger();

    final NetworkNamespace a;
    final NetworkNamespace b;
    final String interfaceA;
    final String interfaceB;
    private final List<String> namespaces = new ArrayList<>();
    private final List<NetworkNamespace> threads = new ArrayList<>();

    private VethLink(int mtu) {
        long pid = ProcessHandle.current().pid();
        int n = NEXT.incrementAndGet();
        String base = PREFIX + pid + "-" + n;
        // Interface names have at most 15 characters.
        String tag = Long.toString(pid, 36) + "x" + n;
        interfaceA = "va" + tag;
        interfaceB = "vb" + tag;
        try {
            for (String side : new String[] {"a", "b"}) {
                ip("netns", "add", base + side);
                namespaces.add(base + side);
            }
            ip("link", "add", "name", interfaceA, "netns", base + "a", "mtu", Integer.toString(mtu), "type", "veth",
                    "peer", "name", interfaceB, "netns", base + "b", "mtu", Integer.toString(mtu));
            ip("-n", base + "a", "link", "set", interfaceA, "up");
            ip("-n", base + "b", "link", "set", interfaceB, "up");
            awaitUp(base + "a", interfaceA);
            awaitUp(base + "b", interfaceB);
            a = enter(base + "a");
            b = enter(base + "b");
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Creates the two namespaces and the veth pair between them. */
    static VethLink create(int mtu) {
        removeLeftovers();
        return new VethLink(mtu);
    }

    /** Takes end b administratively down or up (then waits until it carries frames). */
    void sideB(boolean up) {
        ip("-n", b.name(), "link", "set", interfaceB, up ? "up" : "down");
        if (up) {
            awaitUp(b.name(), interfaceB);
        }
    }

    /**
     * Waits until the kernel reports {@code device} operationally up. Until its link watcher has run (up to a second
     * later, longer on a loaded machine) the device has no queue and drops what it is given without an error.
     */
    static void awaitUp(String namespace, String device) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!ipOutput("-n", namespace, "-o", "link", "show", "dev", device).contains("state UP")) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(device + " in " + namespace + " did not come up within 30 s");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    @Override
    public void close() {
        threads.forEach(NetworkNamespace::close);
        for (String namespace : namespaces) {
            ip("netns", "delete", namespace);
        }
        namespaces.clear();
    }

    private NetworkNamespace enter(String name) {
        NetworkNamespace namespace = new NetworkNamespace(name);
        threads.add(namespace);
        return namespace;
    }

    static void removeLeftovers() {
        String[] existing = new File("/var/run/netns").list();
        if (existing == null) {
            return;
        }
        for (String name : existing) {
            int end = name.indexOf('-', PREFIX.length());
            // Only names this class made (prefix, then a pid): other tools' namespaces may share the prefix.
            if (name.startsWith(PREFIX) && end > PREFIX.length()
                    && name.substring(PREFIX.length(), end).chars().allMatch(Character::isDigit)) {
                long pid = Long.parseLong(name.substring(PREFIX.length(), end));
                if (ProcessHandle.of(pid).isEmpty()) {
                    ip("netns", "delete", name);
                }
            }
        }
    }

    /** Runs {@code ip} with these arguments and fails with its output unless it succeeds. */
    static void ip(String... arguments) {
        ipOutput(arguments);
    }

    /** As {@link #ip}, returning what it printed. */
    private static String ipOutput(String... arguments) {
        List<String> command = new ArrayList<>();
        command.add("ip");
        command.addAll(List.of(arguments));
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed (network namespaces need root "
                        + "and iproute2): " + output.trim());
            }
            return output;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + String.join(" ", command) + " (is iproute2 installed?)",
                    e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
