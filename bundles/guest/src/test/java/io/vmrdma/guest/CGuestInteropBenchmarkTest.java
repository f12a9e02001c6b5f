package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.vmrdma.xen.sim.internal.SimForGuestTests;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The C perftest tools (native/) beside the Java guest tool, in the same run on one simulated host: every side a
 * guest process started by the toolstack, one engine, the same sizes and iterations. Prints figures, asserts
 * nothing about speed. Runs only with {@code -Dvmrdma.bench=true} (see docs/performance.md).
 */
class CGuestInteropBenchmarkTest {

    static final Pattern BW_ROW = Pattern.compile(
            "^ (\\d+) +(\\d+) +(\\d+\\.\\d\\d) +(\\d+\\.\\d\\d) +(\\d+\\.\\d{6})$", Pattern.MULTILINE);
    static final Pattern LAT_ROW = Pattern.compile(
            "^ (\\d+) +(\\d+) +([\\d.]+) +([\\d.]+) +([\\d.]+) +([\\d.]+) +([\\d.]+) +([\\d.]+) +([\\d.]+)$",
            Pattern.MULTILINE);

    @TempDir
    Path state;
    private int service = 9000;

    @Test
    void cToolsBesideTheJavaTool() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("vmrdma.bench"), "benchmark: run with -Dvmrdma.bench=true");
        try (EngineFixture host = new EngineFixture(SimForGuestTests.start(state, 8192))) {
            CGuestInteropGuests guests = new CGuestInteropGuests(host, state, 64 << 20);
            // Warm-up: the engine (Java, in this JVM) compiles its hot paths; nothing printed.
            c(guests, "vmrdma_write_bw", "-e", "-s", "64", "-n", "20000");
            java(guests, "write_bw", "64", "20000");
            c(guests, "vmrdma_send_lat", "-e", "-s", "8", "-n", "2000");
            System.out.println("ib_write_bw, guest processes on one host (MB = MiB), average MB/s [message rate Mpps]");
            System.out.println(String.format(Locale.ROOT, " %-9s %-10s %-22s %-22s %-22s", "#bytes", "#iters",
                    "C, blocking (-e)", "C, polling", "Java GuestTool"));
            for (int bytes : new int[] {64, 4096, 65536, 1 << 20, 4 << 20}) {
                int n = (int) Math.max(200, Math.min(20_000, (256L << 20) / bytes));
                String s = Integer.toString(bytes);
                String it = Integer.toString(n);
                Matcher cb = bw(c(guests, "vmrdma_write_bw", "-e", "-s", s, "-n", it));
                Matcher cp = bw(c(guests, "vmrdma_write_bw", "-s", s, "-n", it));
                Matcher jv = bw(java(guests, "write_bw", s, it));
                System.out.println(String.format(Locale.ROOT, " %-9d %-10d %-22s %-22s %-22s", bytes, n,
                        cb.group(4) + " [" + cb.group(5) + "]", cp.group(4) + " [" + cp.group(5) + "]",
                        jv.group(4) + " [" + jv.group(5) + "]"));
            }
            System.out.println("latency, 8 bytes, 5000 iterations, half round trips in usec: t_typical / t_avg / 99%");
            print("ib_write_lat C, polling", lat(c(guests, "vmrdma_write_lat", "-s", "8", "-n", "5000")));
            print("ib_write_lat C, blocking (-e)", lat(c(guests, "vmrdma_write_lat", "-e", "-s", "8", "-n", "5000")));
            print("ib_write_lat Java GuestTool", lat(java(guests, "write_lat", "8", "5000")));
            print("ib_send_lat C, polling", lat(c(guests, "vmrdma_send_lat", "-s", "8", "-n", "5000")));
            print("ib_send_lat C, blocking (-e)", lat(c(guests, "vmrdma_send_lat", "-e", "-s", "8", "-n", "5000")));
            print("ib_send_lat Java GuestTool", lat(java(guests, "send_lat", "8", "5000")));
            host.assertHealthy();
        }
    }

    private static void print(String what, Matcher m) {
        System.out.println(String.format(Locale.ROOT, " %-32s %s / %s / %s", what, m.group(5), m.group(6),
                m.group(8)));
    }

    private static Matcher bw(String out) {
        Matcher m = BW_ROW.matcher(out);
        assertThat(m.find()).as("a bandwidth row in:\n%s", out).isTrue();
        return m;
    }

    private static Matcher lat(String out) {
        Matcher m = LAT_ROW.matcher(out);
        assertThat(m.find()).as("a latency row in:\n%s", out).isTrue();
        return m;
    }

    /** A C tool as server and client; the client's output. */
    private String c(CGuestInteropGuests guests, String tool, String... options) throws Exception {
        Path bin = CGuestInteropGuests.nativeBinary(tool);
        List<String> server = new ArrayList<>(List.of(bin.toString(), "-p", Integer.toString(++service)));
        server.addAll(List.of(options));
        List<String> client = new ArrayList<>(server);
        client.add("1");
        return pair(guests, server, "Waiting for a client", client);
    }

    /** The Java GuestTool's bench as server and client; the client's output. */
    private String java(CGuestInteropGuests guests, String test, String size, String iterations) throws Exception {
        String svc = Integer.toString(++service);
        String tool = "io.vmrdma.guest.internal.GuestTool";
        return pair(guests, EngineFixture.javaGuest(tool, "bench", test, "server", svc, size, iterations),
                "bench: listening", EngineFixture.javaGuest(tool, "bench", test, "client", "1", svc, size,
                        iterations));
    }

    private static String pair(CGuestInteropGuests guests, List<String> server, String ready, List<String> client)
            throws Exception {
        int s = guests.start("bench-server", server);
        guests.awaitOutput(s, ready);
        int c = guests.start("bench-client", client);
        guests.awaitGone(c);
        guests.awaitGone(s);
        assertThat(guests.exitStatus(c)).as("client:\n%s", guests.output(c)).isEqualTo("0");
        assertThat(guests.exitStatus(s)).as("server:\n%s", guests.output(s)).isEqualTo("0");
        return guests.output(c);
    }
}
