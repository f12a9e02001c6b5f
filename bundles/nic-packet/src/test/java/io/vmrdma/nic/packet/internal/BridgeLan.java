package io.vmrdma.nic.packet.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Hosts on one Ethernet segment for a test: a namespace per host, each with a veth pair whose other end is a port of
 * a Linux bridge in a namespace of its own, all at one MTU. Each host has a thread inside its namespace. Namespace
 * names share {@link VethLink}'s prefix, so its clean-up of leftovers from killed test JVMs covers these too;
 * {@link #close} deletes every namespace (and with them the veth pairs and the bridge) whether or not the test passed.
 */
final class BridgeLan implements AutoCloseable {

    private static final AtomicInteger NEXT = new AtomicInteger();

    final List<NetworkNamespace> hosts = new ArrayList<>();
    final List<String> interfaces = new ArrayList<>();
    /** The bridge's port toward each host, in the bridge's namespace. */
    private final List<String> bridgePorts = new ArrayList<>();
    private final List<String> namespaces = new ArrayList<>();
    private String bridgeNamespace;

    private BridgeLan(int hostCount, int mtu) {
        long pid = ProcessHandle.current().pid();
        int n = NEXT.incrementAndGet();
        String base = "vmrdma-t" + pid + "-lan" + n;
        String tag = Long.toString(pid, 36) + "l" + n;
        String mtuText = Integer.toString(mtu);
        try {
            bridgeNamespace = add(base + "br");
            VethLink.ip("-n", bridgeNamespace, "link", "add", "name", "br0", "mtu", mtuText, "type", "bridge");
            for (int h = 0; h < hostCount; h++) {
                String host = add(base + "h" + h);
                String inside = "h" + h + tag;
                String outside = "p" + h + tag;
                VethLink.ip("link", "add", "name", inside, "netns", host, "mtu", mtuText, "type", "veth", "peer",
                        "name", outside, "netns", bridgeNamespace, "mtu", mtuText);
                VethLink.ip("-n", bridgeNamespace, "link", "set", outside, "master", "br0", "up");
                VethLink.ip("-n", host, "link", "set", inside, "up");
                interfaces.add(inside);
                bridgePorts.add(outside);
            }
            VethLink.ip("-n", bridgeNamespace, "link", "set", "br0", "up");
            VethLink.awaitUp(bridgeNamespace, "br0");
            for (int h = 0; h < hostCount; h++) {
                VethLink.awaitUp(base + "h" + h, interfaces.get(h));
                hosts.add(new NetworkNamespace(base + "h" + h));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Creates {@code hostCount} hosts on a bridge, every link at {@code mtu}. */
    static BridgeLan create(int hostCount, int mtu) {
        VethLink.removeLeftovers();
        return new BridgeLan(hostCount, mtu);
    }

    /**
     * Makes the bridge forget every address at once (ageing time 0), so it floods each frame to every port as a hub
     * does: a host that sends from another host's MAC then diverts none of that host's traffic to itself.
     */
    BridgeLan flooding() {
        VethLink.ip("-n", bridgeNamespace, "link", "set", "br0", "type", "bridge", "ageing_time", "0");
        return this;
    }

    /**
     * Runs {@code tc} with {@code arguments} on the bridge's port toward host {@code h} ({@code DEV} in them stands
     * for it), in the bridge's namespace: a qdisc there shapes what the bridge sends to that host, as a switch port
     * does. Returns what tc printed.
     */
    String tcTowards(int h, String... arguments) {
        List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", bridgeNamespace, "tc"));
        for (String a : arguments) {
            command.add(a.equals("DEV") ? bridgePorts.get(h) : a);
        }
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (!p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
            }
            return out;
        } catch (java.io.IOException e) {
            throw new IllegalStateException(String.join(" ", command) + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private String add(String namespace) {
        VethLink.ip("netns", "add", namespace);
        namespaces.add(namespace);
        return namespace;
    }

    /** Opens a port on host {@code h}'s interface, inside its namespace. */
    PacketPort port(int h, int socketBufferBytes) {
        PacketSettings settings = PacketSettings.of(interfaces.get(h));
        PacketSettings big = new PacketSettings(settings.interfaceName(), settings.etherType(), settings.batchSize(),
                socketBufferBytes, settings.qdiscBypass());
        return hosts.get(h).call(() -> new PacketPort(big));
    }

    @Override
    public void close() {
        hosts.forEach(NetworkNamespace::close);
        for (String namespace : namespaces) {
            VethLink.ip("netns", "delete", namespace);
        }
        namespaces.clear();
    }
}
