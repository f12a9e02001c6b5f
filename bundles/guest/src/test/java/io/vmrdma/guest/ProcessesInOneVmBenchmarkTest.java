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
 * of them gets (the engine's one data agent is what they share, copying every byte).
 *
 * <p>Both sides move the same amount of distinct memory: each of the four writes from and to one 1 MiB slot, the
 * one alone cycles over four ({@code -b 4}). A lone writer of one slot copies the same two MiB again and again, which
 * stay in the level-2 cache of the agent's core while four writers' eight MiB do not; that figure is printed too
 * ({@code hot_single}), as is the ratio against it. Prints figures, asserts nothing about speed. Runs only with
 * {@code -Dvmrdma.bench=true}; {@code -Dvmrdma.bench.out=<file>} writes them as JSON for ./bench.sh.
 */
class ProcessesInOneVmBenchmarkTest {

    static final int SIZE = 1 << 20;
    static final int PROCESSES = 4;
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
            // The lone process before and after the four, so a drift of the machine does not land on one side.
            double before = aggregate(host, writers, readers, 1, PROCESSES, 7800);
            double hot = aggregate(host, writers, readers, 1, 1, 7810);
            double four = aggregate(host, writers, readers, PROCESSES, 1, 7820);
            double after = aggregate(host, writers, readers, 1, PROCESSES, 7830);
            double single = (before + after) / 2;
            System.out.printf(Locale.ROOT, "procs: one process over %d slots %.1f MiB/s (%.1f, %.1f), over one slot"
                    + " %.1f; %d processes of one VM %.1f MiB/s together: ratio %.3f (%.3f against one slot)%n",
                    PROCESSES, single, before, after, hot, PROCESSES, four, four / single, four / hot);
            json.add(String.format(Locale.ROOT, "\"single_mib_s\":%.2f,\"hot_single_mib_s\":%.2f,\"four_mib_s\":%.2f,"
                    + "\"aggregate_vs_single\":%.4f,\"aggregate_vs_hot_single\":%.4f", single, hot, four,
                    four / single, four / hot));
        }
        String out = System.getProperty("vmrdma.bench.out", "");
        if (!out.isEmpty()) {
            Path file = Path.of(out).toAbsolutePath();
            Files.createDirectories(file.getParent());
            Files.writeString(file, "{" + String.join(",", json) + "}\n", StandardCharsets.UTF_8);
        }
    }

    /**
     * Runs {@code n} client processes in {@code writers} against {@code n} servers in {@code readers} at once, each
     * cycling over {@code slots} message slots.
     */
    private double aggregate(EngineFixture host, int writers, int readers, int n, int slots, int firstService)
            throws Exception {
        String bin = CGuestInteropGuests.nativeBinary("vmrdma_write_bw").toString();
        List<Process> servers = new ArrayList<>();
        List<Path> serverLogs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Path log = state.resolve("server-" + (firstService + i) + ".log");
            serverLogs.add(log);
            servers.add(CGuestInteropGuests.startIn(host, readers, log, options(bin, firstService + i, slots)));
        }
        for (int i = 0; i < n; i++) {
            awaitText(servers.get(i), serverLogs.get(i), "Waiting for a client");
        }
        List<Process> clients = new ArrayList<>();
        List<Path> clientLogs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            List<String> cmd = options(bin, firstService + i, slots);
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

    private static List<String> options(String bin, int service, int slots) {
        return new ArrayList<>(List.of(bin, "-p", Integer.toString(service), "-s", Integer.toString(SIZE), "-b",
                Integer.toString(slots), "-D", Integer.toString(SECONDS), "-e", "--json"));
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
