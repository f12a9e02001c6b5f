package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.assertThat;

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
 * Several processes of one VM writing to another VM at once, against one process alone in the same run: the C
 * {@code vmrdma_write_bw} tool, 1 MiB messages for a fixed time, clients as processes of one VM and servers as
 * processes of another. The aggregate of four over one alone shows whether the devices of a VM add up to what one
 * of them gets (the engine's one data agent is what they share). Prints figures, asserts nothing about speed. Runs
 * only with {@code -Dvmrdma.bench=true}; {@code -Dvmrdma.bench.out=<file>} writes them as JSON for ./bench.sh.
 */
class ProcessesInOneVmBenchmarkTest {

    static final int SIZE = 1 << 20;
    /**
     * The control size: four processes' buffers of it (source and target) fit the 2 MiB level-2 cache of the
     * engine's core as one process's 1 MiB pair does, so its ratio shows what serving four devices costs apart from
     * the larger working set.
     */
    static final int CONTROL_SIZE = 128 << 10;
    static final int SECONDS = 2;
    private static final Pattern BW = Pattern.compile("\"bw_avg_mbps\":([0-9.]+)");

    @TempDir
    Path state;

    @Test
    void fourProcessesAgainstOne() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("vmrdma.bench"), "benchmark: run with -Dvmrdma.bench=true");
        List<String> json = new ArrayList<>();
        // gntalloc's limit is the VM's, all its processes together: room for four 1 MiB buffers and their rings.
        try (EngineFixture host = new EngineFixture(SimForGuestTests.start(state, 16384))) {
            int writers = host.hv.create("writers", 256 << 20);
            int readers = host.hv.create("readers", 256 << 20);
            host.hv.start(writers, List.of("sleep", "600"));
            host.hv.start(readers, List.of("sleep", "600"));
            int service = 7800;
            for (int size : new int[] {SIZE, CONTROL_SIZE}) {
                // One alone before and after the four, so a drift of the machine does not land on one side.
                double before = aggregate(host, writers, readers, 1, size, service);
                double four = aggregate(host, writers, readers, 4, size, service + 10);
                double after = aggregate(host, writers, readers, 1, size, service + 20);
                service += 30;
                double single = (before + after) / 2;
                String prefix = size == SIZE ? "" : "control_" + (size >> 10) + "k_";
                System.out.printf(Locale.ROOT, "procs: %d KiB: one process %.1f MiB/s (%.1f, %.1f), four processes of"
                        + " one VM %.1f MiB/s together, ratio %.3f%n", size >> 10, single, before, after, four,
                        four / single);
                json.add(String.format(Locale.ROOT, "\"%ssingle_mib_s\":%.2f,\"%sfour_mib_s\":%.2f,"
                        + "\"%saggregate_vs_single\":%.4f", prefix, single, prefix, four, prefix, four / single));
            }
        }
        String out = System.getProperty("vmrdma.bench.out", "");
        if (!out.isEmpty()) {
            Path file = Path.of(out).toAbsolutePath();
            Files.createDirectories(file.getParent());
            Files.writeString(file, "{" + String.join(",", json) + "}\n", StandardCharsets.UTF_8);
        }
    }

    /** Runs {@code n} client processes in {@code writers} against {@code n} servers in {@code readers} at once. */
    private double aggregate(EngineFixture host, int writers, int readers, int n, int size, int firstService)
            throws Exception {
        String bin = CGuestInteropGuests.nativeBinary("vmrdma_write_bw").toString();
        List<Process> servers = new ArrayList<>();
        List<Path> serverLogs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Path log = state.resolve("server-" + (firstService + i) + ".log");
            serverLogs.add(log);
            servers.add(CGuestInteropGuests.startIn(host, readers, log, options(bin, firstService + i, size)));
        }
        for (int i = 0; i < n; i++) {
            awaitText(servers.get(i), serverLogs.get(i), "Waiting for a client");
        }
        List<Process> clients = new ArrayList<>();
        List<Path> clientLogs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            List<String> cmd = options(bin, firstService + i, size);
            cmd.add("1"); // the engine's node id
            Path log = state.resolve("client-" + (firstService + i) + ".log");
            clientLogs.add(log);
            clients.add(CGuestInteropGuests.startIn(host, writers, log, cmd));
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            assertThat(clients.get(i).waitFor(2 * SECONDS + 60, TimeUnit.SECONDS)).isTrue();
            assertThat(servers.get(i).waitFor(30, TimeUnit.SECONDS)).isTrue();
            String output = Files.readString(clientLogs.get(i));
            assertThat(clients.get(i).exitValue()).as("client:\n%s", output).isZero();
            Matcher m = BW.matcher(output);
            assertThat(m.find()).as("a JSON result in:\n%s", output).isTrue();
            sum += Double.parseDouble(m.group(1));
        }
        return sum;
    }

    private static List<String> options(String bin, int service, int size) {
        return new ArrayList<>(List.of(bin, "-p", Integer.toString(service), "-s", Integer.toString(size), "-D",
                Integer.toString(SECONDS), "-e", "--json"));
    }

    private static void awaitText(Process p, Path log, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(log) || !Files.readString(log).contains(text)) {
            if (System.nanoTime() > deadline || !p.isAlive()) {
                throw new AssertionError(log + " never printed \"" + text + "\""
                        + (p.isAlive() ? "" : " (exit " + p.exitValue() + ")") + ":\n"
                        + (Files.exists(log) ? Files.readString(log) : "(no output)"));
            }
            Thread.sleep(10);
        }
    }
}
