package io.vmrdma.guest;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.guest.bench.Endpoint;
import io.vmrdma.guest.bench.Perftest;
import io.vmrdma.xen.sim.guest.SimGuest;
import io.vmrdma.xen.sim.internal.SimForGuestTests;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guest-to-guest on one host through the backend, beside a memory copy of the same size measured in the same run;
 * then 8-byte ping-pong latencies. Prints figures, asserts nothing about speed. Runs only with
 * {@code -Dvmrdma.bench=true} (see docs/performance.md). With {@code -Dvmrdma.bench.out=<file>} it also writes its
 * results as one JSON object to that file (for {@code ./bench.sh}); {@code -Dvmrdma.bench.latencyOnly=true} skips
 * the bandwidth part.
 */
class GuestBenchmarkTest {

    static final int MAX = 4 << 20;

    @TempDir
    Path state;

    /** The JSON members written to {@code vmrdma.bench.out}. */
    private final List<String> json = new ArrayList<>();

    @Test
    void guestToGuest() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("vmrdma.bench"), "benchmark: run with -Dvmrdma.bench=true");
        try (EngineFixture host = new EngineFixture(SimForGuestTests.start(state, 8192))) {
            SimGuest ga = host.guest("bench-client", 64 << 20);
            SimGuest gb = host.guest("bench-server", 64 << 20);
            // The client blocks on its event channel while its window is full, leaving the core to dom0's agent.
            GuestDevice client = GuestDevice.open(ga, 0, GuestDevice.Options.defaults());
            GuestDevice server = GuestDevice.open(gb, 0, GuestDevice.Options.defaults());
            if (!Boolean.getBoolean("vmrdma.bench.latencyOnly")) {
                bandwidth(client, server);
            }
            client.close();
            server.close();
            latency(ga, gb, true);
            latency(ga, gb, false);
        }
        String out = System.getProperty("vmrdma.bench.out", "");
        if (!out.isEmpty()) {
            Path file = Path.of(out).toAbsolutePath();
            Files.createDirectories(file.getParent());
            Files.writeString(file, "{" + String.join(",", json) + "}\n", StandardCharsets.UTF_8);
        }
    }

    private void bandwidth(GuestDevice client, GuestDevice server) throws Exception {
        Endpoint listening = Endpoint.listen(server, 1, 2 * MAX);
        CompletableFuture<Endpoint> serving = CompletableFuture.supplyAsync(() -> call(listening::accept));
        Endpoint c = Endpoint.client(client, client.nodeId(), 1, 2 * MAX);
        Endpoint s = serving.get();
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        ByteBuffer from = ByteBuffer.allocateDirect(MAX);
        ByteBuffer to = ByteBuffer.allocateDirect(MAX);
        System.out.println("ib_write_bw, guest to guest on one host (MB = MiB), beside a copy of the same size");
        System.out.println(Perftest.Bandwidth.header() + "   copy[MB/sec]  write/copy  guest-CPU-s/GiB");
        List<String> rows = new ArrayList<>();
        for (int bytes = 64; bytes <= MAX; bytes *= 4) {
            int iterations = (int) Math.max(200, Math.min(20_000, (256L << 20) / bytes));
            Perftest.bandwidth(c, Perftest.Test.WRITE_BW, bytes, iterations / 10);
            long cpu0 = cpu.getCurrentThreadCpuTime();
            Perftest.Bandwidth bw = Perftest.bandwidth(c, Perftest.Test.WRITE_BW, bytes, iterations);
            long cpuNanos = cpu.getCurrentThreadCpuTime() - cpu0;
            double copy = copy(from, to, bytes, iterations);
            double gib = (double) bytes * iterations / (1L << 30);
            System.out.println(bw.row() + String.format(Locale.ROOT, "   %-12.0f  %-10.2f  %.3f", copy,
                    bw.averageMiBps() / copy, cpuNanos / 1e9 / gib));
            System.out.println("   json " + bw.json());
            rows.add(String.format(Locale.ROOT, "{\"bytes\":%d,\"write_mib_s\":%.1f,\"copy_mib_s\":%.1f,"
                    + "\"guest_cpu_s_per_gib\":%.5f,\"perftest\":%s}", bytes, bw.averageMiBps(), copy,
                    cpuNanos / 1e9 / gib, bw.json()));
        }
        json.add("\"write_bw\":[" + String.join(",", rows) + "]");
        Perftest.Bandwidth read = Perftest.bandwidth(c, Perftest.Test.READ_BW, 1 << 20, 2_000);
        System.out.println("ib_read_bw 1 MiB: " + read.json());
        json.add("\"read_bw_1m\":" + read.json());
        c.close();
        s.awaitDisconnect();
        s.close();
    }

    /** Copies {@code bytes} between two direct buffers {@code iterations} times; MiB/s. */
    private static double copy(ByteBuffer from, ByteBuffer to, int bytes, int iterations) {
        ByteBuffer src = from.duplicate().limit(bytes);
        long start = System.nanoTime();
        for (int i = 0; i < iterations; i++) {
            to.clear();
            to.put(src.position(0));
        }
        return (double) bytes * iterations / ((System.nanoTime() - start) / 1e9) / (1 << 20);
    }

    /**
     * perftest's 8-byte ping-pong between the two guests, both polling ({@code ib_write_lat}) or both blocking
     * ({@code ib_send_lat}): a warm-up (the JIT compiles the path), then the measured run, whose half round trips the
     * client records in an HdrHistogram; the JSON has its percentiles and perftest's own row beside them.
     */
    private void latency(SimGuest ga, SimGuest gb, boolean polling) throws Exception {
        GuestDevice.Options options = GuestDevice.Options.defaults().polling(polling);
        GuestDevice client = GuestDevice.open(ga, 0, options);
        GuestDevice server = GuestDevice.open(gb, 0, options);
        int warmUp = Integer.getInteger("vmrdma.bench.lat.warmup", 5_000);
        int iterations = Integer.getInteger("vmrdma.bench.lat.iterations", 20_000);
        Endpoint listening = Endpoint.listen(server, 2, 4096);
        CompletableFuture<Void> other = CompletableFuture.runAsync(() -> call(() -> {
            Endpoint s = listening.accept();
            pingPong(s, false, polling, warmUp, nanos -> {
            });
            pingPong(s, false, polling, iterations, nanos -> {
            });
            s.awaitDisconnect();
            s.close();
            return null;
        }));
        Endpoint c = Endpoint.client(client, client.nodeId(), 2, 4096);
        pingPong(c, true, polling, warmUp, nanos -> {
        });
        Histogram halfRoundTrips = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        Perftest.Latency lat = pingPong(c, true, polling, iterations,
                nanos -> halfRoundTrips.recordValue(Math.max(1, nanos / 2)));
        c.close();
        other.get();
        System.out.println((polling ? "ib_write_lat, both guests polling memory"
                : "ib_send_lat, both guests blocking on the event channel") + " (half round trips; RTT = 2x)");
        System.out.println(Perftest.Latency.header());
        System.out.println(lat.row());
        String hdr = halfRoundTripPercentiles(halfRoundTrips);
        System.out.println("   HdrHistogram, half round trips (us): " + hdr);
        json.add((polling ? "\"write_lat_polling\":" : "\"send_lat_blocking\":")
                + hdr.substring(0, hdr.length() - 1) + ",\"perftest\":" + lat.json() + "}");
        client.close();
        server.close();
    }

    private static Perftest.Latency pingPong(Endpoint ep, boolean client, boolean polling, int iterations,
                                             LongConsumer roundTrips)
            throws VerbsException {
        return polling ? Perftest.writeLatency(ep, client, 8, iterations, Perftest.Progress.NONE, roundTrips)
                : Perftest.sendLatency(ep, client, 8, iterations, Perftest.Progress.NONE, roundTrips);
    }

    /** The histogram's percentiles in microseconds, as a JSON object. */
    static String halfRoundTripPercentiles(Histogram h) {
        return String.format(Locale.ROOT, "{\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,\"p99_9_us\":%.2f,"
                + "\"max_us\":%.2f,\"count\":%d}", h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(90) / 1e3,
                h.getValueAtPercentile(99) / 1e3, h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3,
                h.getTotalCount());
    }

    interface Call<T> {
        T run() throws Exception;
    }

    static <T> T call(Call<T> c) {
        try {
            return c.run();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
