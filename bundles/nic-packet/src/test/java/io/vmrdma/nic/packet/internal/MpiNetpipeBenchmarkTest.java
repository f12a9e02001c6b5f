package io.vmrdma.nic.packet.internal;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NetPIPE (NPopenmpi, unmodified) between two MPI ranks, over vmrdma and over Open MPI's own TCP BTL, in the same run:
 * <ul>
 * <li>one host: two VMs of one simulated host (vmrdma-mpirun: Open MPI's cm PML and ofi MTL on vmrdma;ofi_rxm),
 * beside two namespaces on a Linux bridge of veths (what Xen's PV networking gives two VMs of one host);</li>
 * <li>two hosts: a VM on each of two simulated hosts, engines on raw Ethernet in two namespaces joined by a veth
 * pair, beside the TCP BTL between the same two namespaces.</li>
 * </ul>
 * Every link is at MTU 9000. 1 MiB bandwidth and 8-byte latency (NetPIPE's half round trip), each measured alone,
 * three interleaved rounds, the median kept. Prints the figures and their ratios; asserts nothing about speed. Runs
 * only with {@code -Dvmrdma.bench=true}; with {@code -Dvmrdma.bench.out=<file>} writes them as one JSON object for
 * {@code ./bench.sh}.
 */
class MpiNetpipeBenchmarkTest {

    /** NetPIPE's row: "  0: 1048576 bytes 5 times -->   8216.12 Mbps in    1021.15 usec". */
    static final Pattern ROW =
            Pattern.compile("\\d+: +(\\d+) bytes +\\d+ times --> +([\\d.]+) Mbps in +([\\d.]+) usec");
    /** The provider's closing line (FI_LOG_LEVEL=info): what it copied through bounce buffers, and how long that took. */
    static final Pattern BOUNCED = Pattern.compile("(\\d+) bytes bounced in (\\d+) us");
    static final int ROUNDS = 3;
    static final int MTU = 9000;
    static final int MIB = 1 << 20;

    final Path build = Path.of(System.getProperty("vmrdma.native.dir", "../../native/build/plain"))
            .toAbsolutePath().normalize();
    /** Over all vmrdma 1 MiB runs: bytes bounced and microseconds spent bouncing, both ranks. */
    private long bounced;
    private long bounceMicros;

    @TempDir
    Path scratch;

    @Test
    void netpipeOverVmrdmaBesideOpenMpisTcpBtl() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("vmrdma.bench"), "benchmark: run with -Dvmrdma.bench=true");
        Rows oneHost = new Rows();
        Rows twoHosts = new Rows();
        try (VethLink link = VethLink.create(MTU); BridgeLan lan = BridgeLan.create(2, MTU)) {
            TcpBtlAcrossNamespaces bridged = TcpBtlAcrossNamespaces.between(lan.hosts.get(0).name(),
                    lan.interfaces.get(0), lan.hosts.get(1).name(), lan.interfaces.get(1), 81, scratch);
            TcpBtlAcrossNamespaces overVeth = TcpBtlAcrossNamespaces.between(link.a.name(), link.interfaceA,
                    link.b.name(), link.interfaceB, 82, scratch);
            try (GuestHost a = new GuestHost(1, link.a, link.interfaceA, MpiAcrossHostsTest.GNTALLOC_PAGES);
                    GuestHost b = new GuestHost(2, link.b, link.interfaceB, MpiAcrossHostsTest.GNTALLOC_PAGES)) {
                GuestHost.join(a, b);
                // The same VMs for every job, as a cluster keeps its VMs.
                List<String> vmsOfOneHost = vmrdmaMpirun(a.vm("np0", 64 << 20), a.vm("np1", 64 << 20));
                List<String> vmsOfTwoHosts = vmrdmaMpirun(a.vm("xh0", 64 << 20), b.vm("xh1", 64 << 20));
                netpipe(vmsOfOneHost, 8); // warm-up: the engines in this JVM compile their hot paths
                netpipe(vmsOfTwoHosts, 8);
                for (int r = 0; r < ROUNDS; r++) {
                    oneHost.add(netpipe(vmsOfOneHost, MIB)[0], netpipe(vmsOfOneHost, 8)[1],
                            netpipe(bridged.mpirun(), MIB)[0], netpipe(bridged.mpirun(), 8)[1]);
                    twoHosts.add(netpipe(vmsOfTwoHosts, MIB)[0], netpipe(vmsOfTwoHosts, 8)[1],
                            netpipe(overVeth.mpirun(), MIB)[0], netpipe(overVeth.mpirun(), 8)[1]);
                }
                a.assertHealthy();
                b.assertHealthy();
            }
        }
        // The cost of bouncing: a 1 MiB message is copied in by the sender and out by the receiver.
        double copyMibS = bounced / (double) MIB / (bounceMicros / 1e6);
        double copyUsPerMessage = 2 * 1e6 / copyMibS;
        double messageUs = 1e6 / oneHost.median(0);
        System.out.println(oneHost.describe("two VMs of one host; TCP over a bridge of veths"));
        System.out.println(twoHosts.describe("VMs on two hosts over veth; TCP between the same namespaces"));
        System.out.println(String.format(Locale.ROOT,
                "bounce copies at %.0f MiB/s: %.0f us of a one-host 1 MiB message's %.0f us (%.0f %%)", copyMibS,
                copyUsPerMessage, messageUs, 100 * copyUsPerMessage / messageUs));
        String out = System.getProperty("vmrdma.bench.out", "");
        if (!out.isEmpty()) {
            Path file = Path.of(out).toAbsolutePath();
            Files.createDirectories(file.getParent());
            Files.writeString(file, String.format(Locale.ROOT, "{%s,%s,\"bounce_copy_mib_s\":%.1f,"
                    + "\"bounce_share_1m\":%.4f}%n", oneHost.json("host_"), twoHosts.json("hosts_"), copyMibS,
                    copyUsPerMessage / messageUs), StandardCharsets.UTF_8);
        }
    }

    private List<String> vmrdmaMpirun(Path vm0, Path vm1) {
        return List.of(build.resolve("vmrdma-mpirun").toString(), "--vms", vm0 + ":" + vm1, "-x",
                "FI_LOG_LEVEL=info", "--");
    }

    /** MiB/s and µs of one NetPIPE size, measured alone. */
    private double[] netpipe(List<String> launcher, int bytes) throws Exception {
        List<String> command = new ArrayList<>(launcher);
        String size = Integer.toString(bytes);
        command.addAll(List.of("NPopenmpi", "-l", size, "-u", size, "-p", "0", "-o", "/dev/null"));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError("NetPIPE failed: " + String.join(" ", command) + "\n" + out);
        }
        if (launcher.get(0).endsWith("vmrdma-mpirun") && bytes == MIB) {
            Matcher b = BOUNCED.matcher(out);
            while (b.find()) {
                bounced += Long.parseLong(b.group(1));
                bounceMicros += Long.parseLong(b.group(2));
            }
        }
        Matcher m = ROW.matcher(out);
        if (!m.find()) {
            throw new AssertionError("no NetPIPE row in:\n" + out);
        }
        return new double[] {Double.parseDouble(m.group(2)) * 1e6 / 8 / MIB, Double.parseDouble(m.group(3))};
    }

    /** One setup's rounds: vmrdma's 1 MiB MiB/s and 8 B µs, then TCP's. */
    private static final class Rows {
        private final List<double[]> rounds = new ArrayList<>();

        void add(double vmrdmaMibS, double vmrdmaUs, double tcpMibS, double tcpUs) {
            rounds.add(new double[] {vmrdmaMibS, vmrdmaUs, tcpMibS, tcpUs});
        }

        double median(int column) {
            double[] v = rounds.stream().mapToDouble(r -> r[column]).sorted().toArray();
            return v[v.length / 2];
        }

        String describe(String setup) {
            return String.format(Locale.ROOT,
                    "NetPIPE, %s (median of %d): 1 MiB %.1f MiB/s over vmrdma, %.1f MiB/s over the TCP BTL (%.2f x);"
                            + " 8 B half round trip %.1f us over vmrdma, %.1f us over TCP (%.2f x)",
                    setup, rounds.size(), median(0), median(2), median(0) / median(2), median(1), median(3),
                    median(1) / median(3));
        }

        String json(String prefix) {
            return String.format(Locale.ROOT,
                    "\"%1$svmrdma_1m_mib_s\":%2$.3f,\"%1$stcp_1m_mib_s\":%3$.3f,\"%1$svmrdma_lat_us\":%4$.3f,"
                            + "\"%1$stcp_lat_us\":%5$.3f",
                    prefix, median(0), median(2), median(1), median(3));
        }
    }
}
