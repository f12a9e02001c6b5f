package io.vmrdma.guest;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.vmrdma.xen.sim.internal.SimForGuestTests;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NetPIPE (NPopenmpi, unmodified) between two MPI ranks on one host, in the same run: over vmrdma (each rank a
 * simulated VM, Open MPI's cm PML and ofi MTL on vmrdma;ofi_rxm) and over Open MPI's own TCP BTL on loopback (ob1,
 * btl tcp). 1 MiB bandwidth and 8-byte latency (NetPIPE's half round trip); each side measured three times,
 * interleaved, the median kept. Prints the figures and their ratios; asserts nothing about speed. Runs only with
 * {@code -Dvmrdma.bench=true}; with {@code -Dvmrdma.bench.out=<file>} writes them as one JSON object for
 * {@code ./bench.sh}.
 */
class MpiNetpipeBenchmarkTest {

    /** NetPIPE's row: "  0: 1048576 bytes 5 times -->   8216.12 Mbps in    1021.15 usec". */
    static final Pattern ROW =
            Pattern.compile("\\d+: +(\\d+) bytes +\\d+ times --> +([\\d.]+) Mbps in +([\\d.]+) usec");
    /** The provider's closing line (FI_LOG_LEVEL=info): what it copied through bounce buffers, and how long that took. */
    static final Pattern BOUNCED = Pattern.compile("(\\d+) bytes bounced in (\\d+) us");
    static final int ROUNDS = 3;
    /** Over all vmrdma 1 MiB runs: bytes bounced and microseconds spent bouncing, both ranks. */
    private long bounced;
    private long bounceMicros;

    @TempDir
    Path state;

    @Test
    void netpipeOverVmrdmaBesideOpenMpisTcpBtl() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("vmrdma.bench"), "benchmark: run with -Dvmrdma.bench=true");
        List<double[]> vm = new ArrayList<>();
        List<double[]> tcp = new ArrayList<>();
        try (EngineFixture host = new EngineFixture(SimForGuestTests.start(state, 8192))) {
            List<String> vmrdma = vmrdma(host); // the same two VMs for every job, as a cluster keeps its VMs
            netpipe(vmrdma, 8); // warm-up: the engine in this JVM compiles its hot paths
            for (int r = 0; r < ROUNDS; r++) {
                vm.add(new double[] {netpipe(vmrdma, 1 << 20)[0], netpipe(vmrdma, 8)[1]});
                tcp.add(new double[] {netpipe(tcpBtl(), 1 << 20)[0], netpipe(tcpBtl(), 8)[1]});
            }
        }
        double vmBw = median(vm, 0), vmLat = median(vm, 1), tcpBw = median(tcp, 0), tcpLat = median(tcp, 1);
        // The cost of bouncing: a 1 MiB message is copied in by the sender and out by the receiver.
        double copyMibS = bounced / (double) (1 << 20) / (bounceMicros / 1e6);
        double copyUsPerMessage = 2 * 1e6 / copyMibS;
        double messageUs = 1e6 / vmBw;
        System.out.println(String.format(Locale.ROOT,
                "NetPIPE, two ranks on one host (median of %d): 1 MiB %.1f MiB/s over vmrdma, %.1f MiB/s over the TCP"
                        + " BTL (%.2f x); 8 B half round trip %.1f us over vmrdma, %.1f us over TCP (%.2f x); bounce"
                        + " copies at %.0f MiB/s: %.0f us of a 1 MiB message's %.0f us (%.0f %%)",
                ROUNDS, vmBw, tcpBw, vmBw / tcpBw, vmLat, tcpLat, vmLat / tcpLat, copyMibS, copyUsPerMessage,
                messageUs, 100 * copyUsPerMessage / messageUs));
        String out = System.getProperty("vmrdma.bench.out", "");
        if (!out.isEmpty()) {
            Path file = Path.of(out).toAbsolutePath();
            Files.createDirectories(file.getParent());
            Files.writeString(file, String.format(Locale.ROOT,
                    "{\"vmrdma_1m_mib_s\":%.3f,\"tcp_1m_mib_s\":%.3f,\"vmrdma_lat_us\":%.3f,\"tcp_lat_us\":%.3f,"
                            + "\"bounce_copy_mib_s\":%.1f,\"bounce_share_1m\":%.4f}%n",
                    vmBw, tcpBw, vmLat, tcpLat, copyMibS, copyUsPerMessage / messageUs), StandardCharsets.UTF_8);
        }
    }

    private List<String> vmrdma(EngineFixture host) throws Exception {
        StringBuilder vms = new StringBuilder();
        for (int rank = 0; rank < 2; rank++) {
            int domid = host.hv.create("np" + rank, 64 << 20);
            vms.append(rank == 0 ? "" : ":").append(host.hv.domainDirectory(domid));
        }
        return List.copyOf(List.of(CGuestInteropGuests.nativeBinary("vmrdma-mpirun").toString(), "--vms",
                vms.toString()));
    }

    private static List<String> tcpBtl() {
        return List.copyOf(List.of("mpirun", "--allow-run-as-root", "-np", "2", "--oversubscribe", "--mca", "pml",
                "ob1", "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo"));
    }

    /** MiB/s and µs of one NetPIPE size, measured alone. */
    private double[] netpipe(List<String> launcher, int bytes) throws Exception {
        List<String> command = new ArrayList<>(launcher);
        boolean vmrdma = launcher.get(0).endsWith("vmrdma-mpirun");
        if (vmrdma) {
            command.addAll(List.of("-x", "FI_LOG_LEVEL=info", "--"));
        }
        String size = Integer.toString(bytes);
        command.addAll(List.of("NPopenmpi", "-l", size, "-u", size, "-p", "0", "-o", "/dev/null"));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError("NetPIPE failed: " + String.join(" ", command) + "\n" + out);
        }
        if (vmrdma && bytes == 1 << 20) {
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
        return new double[] {Double.parseDouble(m.group(2)) * 1e6 / 8 / (1 << 20), Double.parseDouble(m.group(3))};
    }

    private static double median(List<double[]> rows, int column) {
        double[] v = rows.stream().mapToDouble(r -> r[column]).sorted().toArray();
        return v[v.length / 2];
    }
}
