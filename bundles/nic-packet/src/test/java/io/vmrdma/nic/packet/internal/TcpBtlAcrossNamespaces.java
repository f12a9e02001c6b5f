package io.vmrdma.nic.packet.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Open MPI's own TCP transport (the ob1 PML and the tcp BTL) between two ranks in two network namespaces, the
 * baseline that MPI over vmrdma is measured against: two VMs on a bridge of veths, or two hosts on a veth pair. Each
 * namespace's interface gets a link-local address of {@code 169.254.<subnet>.0/24}; {@code mpirun} runs in the first
 * namespace with its rank, and reaches the second through an rsh agent that enters the namespace named as the host,
 * where Open MPI's daemon starts the other rank. Both Open MPI's own control channel and the BTL are held to that
 * subnet, so every byte between the ranks crosses the veths.
 *
 * <p>Both ranks bind to no core and yield while they poll: Open MPI binds each node's first rank to core 0, and two
 * "nodes" on one machine would then share a core; and on two cores with two ranks spinning, the kernel thread that
 * finishes a veth's receive waits for a scheduler tick (about 3.8 ms per 8-byte round trip measured here without the
 * yield, 6 µs with it).
 */
final class TcpBtlAcrossNamespaces {

    private static final String AGENT = """
            #!/bin/sh
            # Open MPI's rsh agent for hosts that are network namespaces of this machine: the host names the namespace.
            namespace=$1
            shift
            exec ip netns exec "$namespace" sh -c "$*"
            """;

    private final List<String> mpirun;

    private TcpBtlAcrossNamespaces(List<String> mpirun) {
        this.mpirun = mpirun;
    }

    /**
     * Addresses {@code interfaceA} in {@code namespaceA} and {@code interfaceB} in {@code namespaceB} as .1 and .2 of
     * {@code 169.254.<subnet>.0/24} and writes the rsh agent into {@code scratch}.
     */
    static TcpBtlAcrossNamespaces between(String namespaceA, String interfaceA, String namespaceB, String interfaceB,
                                          int subnet, Path scratch)
            throws IOException {
        String network = "169.254." + subnet + ".";
        for (String[] end : new String[][] {{namespaceA, interfaceA, "1"}, {namespaceB, interfaceB, "2"}}) {
            VethLink.ip("-n", end[0], "addr", "add", network + end[2] + "/24", "dev", end[1]);
            VethLink.ip("-n", end[0], "link", "set", "lo", "up"); // each rank talks to its own daemon over loopback
        }
        Path agent = Files.writeString(scratch.resolve("netns-rsh-agent"), AGENT, StandardCharsets.UTF_8);
        if (!agent.toFile().setExecutable(true)) {
            throw new IOException("cannot make " + agent + " executable");
        }
        String hostname = Files.readString(Path.of("/proc/sys/kernel/hostname"), StandardCharsets.UTF_8).trim();
        String subnetMask = network + "0/24";
        return new TcpBtlAcrossNamespaces(List.of("ip", "netns", "exec", namespaceA, "mpirun", "--allow-run-as-root",
                "-np", "2", "-H", hostname + "," + namespaceB, "--bind-to", "none", "--mca", "plm_rsh_agent",
                agent.toString(), "--mca", "oob_tcp_if_include", subnetMask, "--mca", "pml", "ob1", "--mca", "btl",
                "tcp,self", "--mca", "btl_tcp_if_include", subnetMask, "--mca", "mpi_yield_when_idle", "1"));
    }

    /** {@code mpirun} and its options: append the program and its arguments. */
    List<String> mpirun() {
        return mpirun;
    }
}
