package io.vmrdma.nic.packet.internal;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import io.vmrdma.api.Counter;
import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.SchedulingPolicy;
import io.vmrdma.api.sched.VmSettings;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.engine.internal.verbs.SchedulerSource;
import io.vmrdma.guest.GuestBuffer;
import io.vmrdma.guest.GuestDevice;
import io.vmrdma.guest.bench.Endpoint;
import io.vmrdma.guest.bench.Perftest;
import io.vmrdma.sched.drr.internal.DeficitRoundRobinPolicy;
import io.vmrdma.sched.rr.internal.RoundRobinPolicy;
import io.vmrdma.sched.testkit.SimSettings;
import io.vmrdma.xen.sim.guest.SimGuest;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Benchmark, run with {@code -Dvmrdma.bench=true} (docs/performance.md, "Guests across the link"): two simulated Xen
 * hosts in two network namespaces joined by a veth pair (MTU 9000; by default the emulated 10GbE link, a
 * {@code tbf rate 10gbit burst 4mb latency 10ms} qdisc on both ends), each an engine on nic.packet with xen.sim and the
 * guests' backends ({@link GuestHost}). Guests on host A write into a sink guest on host B through the guest library,
 * so the wire is the bottleneck and host A's scheduler decides who uses it:
 * <ul>
 * <li>guest CPU: one guest's {@code ib_write_bw} (the benchmark core, {@link Perftest}) with 1 MiB writes, its
 * thread's CPU time over the wall time of the transfer, in percent of one core;</li>
 * <li>scale: 1 to 64 guests each flooding 1 MiB writes, the aggregate MiB/s for each count, under rr (the
 * distribution's default) and under drr with equal weights;</li>
 * <li>shares: 4 guests under drr with equal weights and with weights 1:2:4:8, each guest's MiB/s from the engine's
 * per-domain counters over a window after settling: Jain's index and the worst share error.</li>
 * </ul>
 *
 * <p>Properties: {@code vmrdma.bench.out} (a file: the results as one JSON object), {@code vmrdma.bench.mtu}
 * (default 9000), {@code vmrdma.bench.tbf} (default {@code 10gbit}; empty for the bare veth),
 * {@code vmrdma.bench.guests} (default {@code 1,2,4,8,16,32,64}; the first count is the single guest's),
 * {@code vmrdma.bench.scale.policies} (default {@code rr,drr}), {@code vmrdma.bench.seconds} (measured seconds per
 * window, default 3), {@code vmrdma.bench.settle} (seconds before each window, default 1). The namespaces, and with
 * them the veth pair and its qdiscs, are deleted whether or not the run succeeds; no cgroup is used (CPU time is the
 * threads' own, from the JVM).
 */
class GuestsAcrossLinkBenchmarkTest {

    private static final int MTU = Integer.getInteger("vmrdma.bench.mtu", 9000);
    private static final String TBF = System.getProperty("vmrdma.bench.tbf", "10gbit");
    private static final double SECONDS = Double.parseDouble(System.getProperty("vmrdma.bench.seconds", "3"));
    private static final double SETTLE = Double.parseDouble(System.getProperty("vmrdma.bench.settle", "1"));
    /** The policies of the scale runs, in order: rr (the distribution's default) and drr with equal weights. */
    private static final String[] SCALE_POLICIES = System.getProperty("vmrdma.bench.scale.policies", "rr,drr")
            .split(",");
    private static final int SINK_NODE = 2;
    private static final long SINK_SERVICE = 4711;
    private static final long PERF_SERVICE = 4712;
    private static final int BLOCK = 1 << 20;
    /** Writes each flooding guest keeps queued: 16 MiB, so it stays backlogged while its thread waits for a core. */
    private static final int QUEUED = 16;
    /** A 1 MiB buffer and the rings, within gntalloc's default 1024 shared pages. */
    private static final long GUEST_MEMORY = 8L << 20;
    private static final long WAIT = TimeUnit.SECONDS.toNanos(30);
    private static final int[] WEIGHTS = {1, 2, 4, 8};
    private static final long START = System.nanoTime();
    /** Raw Ethernet payload of 10 Gb/s at MTU 9000 (38 B of framing per 9038 B frame), MiB/s. */
    private static final double LIMIT_10GBE_MIB_S = 1187;

    private final List<String> json = new ArrayList<>();

    @Test
    void guestsAcrossTheLink() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("vmrdma.bench"), "benchmark: run with -Dvmrdma.bench=true");
        int[] counts = Arrays.stream(System.getProperty("vmrdma.bench.guests", "1,2,4,8,16,32,64").split(","))
                .map(String::trim).mapToInt(Integer::parseInt).toArray();
        int most = Math.max(WEIGHTS.length, Arrays.stream(counts).max().orElse(1));
        progress("guests across the link: veth MTU %d%s; guest CPU, scale over %s guests, drr shares of 4", MTU,
                TBF.isEmpty() ? "" : ", tbf rate " + TBF + " burst 4mb latency 10ms on both ends",
                Arrays.toString(counts));
        try (VethLink link = VethLink.create(MTU)) {
            if (!TBF.isEmpty()) {
                for (NetworkNamespace ns : new NetworkNamespace[] {link.a, link.b}) {
                    tc(ns, "qdisc", "add", "dev", ns == link.a ? link.interfaceA : link.interfaceB, "root", "tbf",
                            "rate", TBF, "burst", "4mb", "latency", "10ms");
                }
            }
            try (GuestHost a = new GuestHost(1, link.a, link.interfaceA);
                    GuestHost b = new GuestHost(SINK_NODE, link.b, link.interfaceB)) {
                GuestHost.join(a, b);
                try {
                    measure(link, a, b, counts, most);
                } catch (Throwable t) {
                    progress("failed (%s); what the engines counted: %s; %s", t, a.counters(), b.counters());
                    throw t;
                }
            }
        }
        String out = System.getProperty("vmrdma.bench.out", "");
        if (!out.isEmpty()) {
            Path file = Path.of(out).toAbsolutePath();
            Files.createDirectories(file.getParent());
            Files.writeString(file, "{" + String.join(",", json) + "}\n", StandardCharsets.UTF_8);
            progress("wrote %s", file);
        }
    }

    private void measure(VethLink link, GuestHost a, GuestHost b, int[] counts, int most) throws Exception {
        json.add(String.format(Locale.ROOT, "\"mtu\":%d,\"tbf\":\"%s\"", MTU, TBF));
        guestCpu(a, b);
        List<Flooder> guests = new ArrayList<>();
        try (Sink sink = new Sink(b)) {
            progress("starting %d guests on host A, each connected to the sink on host B", most);
            for (int i = 1; i <= most; i++) {
                guests.add(new Flooder(a, "g" + i));
            }
            for (String policy : SCALE_POLICIES) {
                scale(a, guests, counts, policy.trim());
            }
            shares(a, guests.subList(0, WEIGHTS.length));
            sink.assertHealthy();
        } finally {
            for (Flooder g : guests) {
                g.close();
            }
        }
        if (!TBF.isEmpty()) {
            // Where the emulated link dropped frames, if it did: the qdisc's own counts.
            progress("%s", tc(link.a, "-s", "qdisc", "show", "dev", link.interfaceA).trim());
        }
        a.assertHealthy();
        b.assertHealthy();
    }

    /**
     * One guest's {@code ib_write_bw} of 1 MiB across the link: its thread's CPU time (user and system) over the
     * transfer's wall time; beside it the CPU of host A's data agent and simulator, which move the guest's bytes.
     */
    private void guestCpu(GuestHost a, GuestHost b) throws Exception {
        progress("guest CPU: one guest's ib_write_bw, 1 MiB writes, blocking on its event channel when the window "
                + "is full");
        try (SimGuest clientGuest = a.guest("perf-client", GUEST_MEMORY);
                SimGuest serverGuest = b.guest("perf-server", GUEST_MEMORY)) {
            GuestDevice client = GuestDevice.open(clientGuest, 0, GuestDevice.Options.defaults());
            GuestDevice server = GuestDevice.open(serverGuest, 0, GuestDevice.Options.defaults());
            try {
                // Twice the block: a test may use up to half an endpoint's buffer.
                Endpoint listening = Endpoint.listen(server, PERF_SERVICE, 2 * BLOCK);
                CompletableFuture<Endpoint> serving = CompletableFuture.supplyAsync(() -> {
                    try {
                        return listening.accept();
                    } catch (VerbsException e) {
                        throw new IllegalStateException(e);
                    }
                });
                Endpoint c = Endpoint.client(client, SINK_NODE, PERF_SERVICE, 2 * BLOCK);
                Endpoint s = serving.get(30, TimeUnit.SECONDS);
                Perftest.bandwidth(c, Perftest.Test.WRITE_BW, BLOCK, 300);
                // At least SECONDS long: as many 1 MiB writes as the 10GbE payload limit moves in that time.
                int iterations = (int) (LIMIT_10GBE_MIB_S * SECONDS);
                ThreadMXBean threads = ManagementFactory.getThreadMXBean();
                long agent0 = a.agentCpuNanos();
                long sim0 = a.simulatorCpuNanos();
                long sink0 = b.agentCpuNanos();
                long cpu0 = threads.getCurrentThreadCpuTime();
                long wall0 = System.nanoTime();
                Perftest.Bandwidth bw = Perftest.bandwidth(c, Perftest.Test.WRITE_BW, BLOCK, iterations);
                long wall = System.nanoTime() - wall0;
                double guestPct = 100.0 * (threads.getCurrentThreadCpuTime() - cpu0) / wall;
                double agentPct = 100.0 * (a.agentCpuNanos() - agent0) / wall;
                double simPct = 100.0 * (a.simulatorCpuNanos() - sim0) / wall;
                double sinkPct = 100.0 * (b.agentCpuNanos() - sink0) / wall;
                System.out.println(Perftest.Bandwidth.header());
                System.out.println(bw.row());
                progress("guest CPU %.2f %% of a core at %.0f MiB/s (%.3f s per GiB); host A's data agent %.0f %%, "
                        + "its simulator %.1f %%; host B's data agent %.0f %%", guestPct, bw.averageMiBps(),
                        guestPct / 100 / (bw.averageMiBps() / 1024), agentPct, simPct, sinkPct);
                json.add(String.format(Locale.ROOT, "\"guest_cpu\":{\"bytes\":%d,\"mib_s\":%.1f,\"guest_cpu_pct\":%.3f,"
                        + "\"host_a_agent_cpu_pct\":%.1f,\"host_a_simulator_cpu_pct\":%.2f,"
                        + "\"host_b_agent_cpu_pct\":%.1f,\"wall_s\":%.3f,\"perftest\":%s}", BLOCK, bw.averageMiBps(),
                        guestPct, agentPct, simPct, sinkPct, wall / 1e9, bw.json()));
                c.close();
                s.awaitDisconnect();
                s.close();
            } finally {
                client.close();
                server.close();
            }
        }
    }

    /** For each count, that many guests flood the sink; aggregate and per-guest MiB/s under {@code name}. */
    private void scale(GuestHost a, List<Flooder> guests, int[] counts, String name) throws Exception {
        SchedulingPolicy policy = switch (name) {
            case "rr" -> new RoundRobinPolicy();
            case "drr" -> new DeficitRoundRobinPolicy();
            default -> throw new IllegalArgumentException("scale policy must be rr or drr, not " + name);
        };
        a.scheduling(new Settings(policy));
        progress("scale: guests each flooding 1 MiB writes (policy %s), %.1f s settling, %.1f s measured",
                policy.name(), SETTLE, SECONDS);
        System.out.printf("%7s %14s %16s %16s %8s %10s%n", "guests", "aggregate MiB/s", "min guest MiB/s",
                "max guest MiB/s", "Jain", "retransmit");
        List<String> rows = new ArrayList<>();
        double single = Double.NaN;
        double last = Double.NaN;
        for (int n : counts) {
            List<Flooder> active = guests.subList(0, n);
            long retransmissions = a.engine.counter(Counter.RETRANSMISSIONS);
            double[] rates = flood(a, active);
            retransmissions = a.engine.counter(Counter.RETRANSMISSIONS) - retransmissions;
            double total = Arrays.stream(rates).sum();
            double min = Arrays.stream(rates).min().orElse(0);
            double max = Arrays.stream(rates).max().orElse(0);
            if (n == counts[0]) {
                single = total;
            }
            last = total;
            System.out.printf(Locale.ROOT, "%7d %14.0f %16.1f %16.1f %8.4f %10d%n", n, total, min, max, jain(rates),
                    retransmissions);
            rows.add(String.format(Locale.ROOT, "{\"guests\":%d,\"mib_s\":%.1f,\"min_guest_mib_s\":%.2f,"
                    + "\"max_guest_mib_s\":%.2f,\"jain\":%.4f,\"retransmissions\":%d}", n, total, min, max,
                    jain(rates), retransmissions));
        }
        int most = counts[counts.length - 1];
        progress("scale (%s): %d guests move %.3f x one guest's aggregate", name, most, last / single);
        json.add("\"scale_" + name + "\":[" + String.join(",", rows) + "]");
        json.add(String.format(Locale.ROOT, "\"scale_%s_most_guests\":%d,\"scale_%s_most_vs_single\":%.4f", name,
                most, name, last / single));
    }

    /** Four guests under drr: equal weights, then 1:2:4:8 (the weights double, as in the 1:2:4). */
    private void shares(GuestHost a, List<Flooder> four) throws Exception {
        Settings drr = new Settings(new DeficitRoundRobinPolicy());
        a.scheduling(drr);
        progress("shares: 4 guests under drr, equal weights, then %s; %.1f s settling, %.1f s measured",
                Arrays.toString(WEIGHTS), SETTLE, SECONDS);
        double[] equal = flood(a, four);
        for (int i = 0; i < four.size(); i++) {
            drr.weight(four.get(i).name, WEIGHTS[i]);
        }
        double[] weighted = flood(a, four);
        double[] w = Arrays.stream(WEIGHTS).asDoubleStream().toArray();
        double jainEqual = jain(equal);
        double errPct = maxRelativeErrorPercent(weighted, w);
        double errPp = maxErrorPercentagePoints(weighted, w);
        System.out.printf(Locale.ROOT, "drr, equal weights:   %s MiB/s, total %.0f%n", list(equal),
                Arrays.stream(equal).sum());
        System.out.printf(Locale.ROOT, "drr, weights %s: %s MiB/s, total %.0f; shares %s (configured %s)%n",
                Arrays.toString(WEIGHTS), list(weighted), Arrays.stream(weighted).sum(), shareList(weighted),
                shareList(w));
        progress("shares: Jain's index with equal weights %.4f; weighted worst error %.2f %% of its share "
                + "(%.2f percentage points)", jainEqual, errPct, errPp);
        json.add(String.format(Locale.ROOT, "\"shares\":{\"policy\":\"drr\",\"weights\":%s,\"equal_mib_s\":[%s],"
                + "\"weighted_mib_s\":[%s],\"jain_equal_weights\":%.5f,\"weighted_share_max_err_pct\":%.3f,"
                + "\"weighted_share_max_err_pp\":%.3f}", Arrays.toString(WEIGHTS).replace(" ", ""), list(equal),
                list(weighted), jainEqual, errPct, errPp));
    }

    /**
     * Starts {@code active} flooding, waits {@link #SETTLE}, takes each one's MiB/s over {@link #SECONDS} from host
     * A's per-domain counters, then stops them.
     */
    private static double[] flood(GuestHost a, List<Flooder> active) throws Exception {
        List<Flooder> started = new ArrayList<>();
        try {
            for (Flooder g : active) {
                g.start();
                started.add(g);
            }
            Thread.sleep((long) (SETTLE * 1000));
            long[] before = written(a, active);
            long t0 = System.nanoTime();
            Thread.sleep((long) (SECONDS * 1000));
            long[] after = written(a, active);
            double seconds = (System.nanoTime() - t0) / 1e9;
            double[] rates = new double[active.size()];
            for (int i = 0; i < rates.length; i++) {
                rates[i] = (after[i] - before[i]) / seconds / (1 << 20);
            }
            return rates;
        } finally {
            for (Flooder g : started) {
                g.stop();
            }
            a.assertHealthy();
        }
    }

    private static long[] written(GuestHost a, List<Flooder> guests) {
        long[] bytes = new long[guests.size()];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = a.writtenBytes(guests.get(i).name);
        }
        return bytes;
    }

    static double jain(double[] x) {
        double sum = Arrays.stream(x).sum();
        double squares = Arrays.stream(x).map(v -> v * v).sum();
        return squares == 0 ? 0 : sum * sum / (x.length * squares);
    }

    /** The worst |share - configured share| in percent of the configured share. */
    static double maxRelativeErrorPercent(double[] rates, double[] weights) {
        double total = Arrays.stream(rates).sum();
        double w = Arrays.stream(weights).sum();
        double worst = 0;
        for (int i = 0; i < rates.length; i++) {
            double target = weights[i] / w;
            worst = Math.max(worst, Math.abs(rates[i] / total - target) / target * 100);
        }
        return worst;
    }

    /** The worst |share - configured share| in percentage points. */
    static double maxErrorPercentagePoints(double[] rates, double[] weights) {
        double total = Arrays.stream(rates).sum();
        double w = Arrays.stream(weights).sum();
        double worst = 0;
        for (int i = 0; i < rates.length; i++) {
            worst = Math.max(worst, Math.abs(rates[i] / total - weights[i] / w) * 100);
        }
        return worst;
    }

    private static String list(double[] x) {
        return Arrays.stream(x).mapToObj(v -> String.format(Locale.ROOT, "%.1f", v)).collect(Collectors.joining(","));
    }

    private static String shareList(double[] x) {
        double sum = Arrays.stream(x).sum();
        return Arrays.stream(x).mapToObj(v -> String.format(Locale.ROOT, "%.3f", v / sum))
                .collect(Collectors.joining(", "));
    }

    private static void progress(String format, Object... args) {
        System.out.printf(Locale.ROOT, "[wire %5.1fs] %s%n", (System.nanoTime() - START) / 1e9,
                String.format(Locale.ROOT, format, args));
        System.out.flush();
    }

    /** {@code tc} with these arguments inside {@code namespace}; its output. */
    private static String tc(NetworkNamespace namespace, String... arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", namespace.name(), "tc"));
        command.addAll(List.of(arguments));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
        return out;
    }

    /** A fixed policy and per-VM weights by domain name; a weight changed here reaches the engine's next cycle. */
    private static final class Settings implements SchedulerSource {
        private final SchedulingPolicy policy;
        private final Map<String, Integer> weights = new ConcurrentHashMap<>();
        private volatile long settingsGeneration;

        Settings(SchedulingPolicy policy) {
            this.policy = policy;
        }

        void weight(String domainName, int weight) {
            weights.put(domainName, weight);
            settingsGeneration++;
        }

        @Override
        public long generation() {
            return 0;
        }

        @Override
        public Scheduler newScheduler(int capacity) {
            return policy.newScheduler(capacity);
        }

        @Override
        public long settingsGeneration() {
            return settingsGeneration;
        }

        @Override
        public VmSettings settings(String domainName) {
            return new SimSettings().weight(weights.getOrDefault(domainName, 1));
        }
    }

    /**
     * The sink on host B: accepts any number of writers, gives each a queue pair and the address and rkey of one
     * 1 MiB window (in the accept's private data), and does nothing else: RDMA WRITE needs no receiver CPU.
     */
    private static final class Sink implements AutoCloseable {
        private final SimGuest guest;
        private final GuestDevice dev;
        private final Thread thread;
        private volatile boolean running = true;
        private volatile Throwable failure;

        Sink(GuestHost host) throws Exception {
            guest = host.guest("sink", GUEST_MEMORY);
            dev = GuestDevice.open(guest, 0, GuestDevice.Options.defaults());
            GuestDevice.Pd pd = dev.allocPd();
            GuestDevice.Cq cq = dev.createCq(16);
            GuestBuffer window = dev.allocate(BLOCK);
            GuestDevice.Region mr = dev.register(pd, window, AccessFlags.LOCAL_WRITE | AccessFlags.REMOTE_WRITE);
            byte[] key = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(mr.address())
                    .putInt(mr.rkey()).array();
            dev.listen(SINK_SERVICE);
            thread = new Thread(() -> serve(pd, cq, key), "guest-sink");
            thread.start();
        }

        private void serve(GuestDevice.Pd pd, GuestDevice.Cq cq, byte[] key) {
            Map<Integer, GuestDevice.Qp> writers = new HashMap<>();
            CmEvent event = new CmEvent();
            try {
                while (running) {
                    if (!dev.waitCmEvent(event, TimeUnit.MILLISECONDS.toNanos(100))) {
                        continue;
                    }
                    if (event.type() == CmEventType.CONNECT_REQUEST) {
                        GuestDevice.Qp qp = dev.createQp(pd, cq, cq, 4, 4, 1, false);
                        dev.accept(event.connectionId(), qp, key);
                        writers.put(qp.qpn(), qp);
                    } else if (event.type() == CmEventType.DISCONNECTED) {
                        GuestDevice.Qp gone = writers.remove(event.localQpn());
                        if (gone != null) {
                            dev.destroyQp(gone);
                        }
                    }
                }
            } catch (Throwable t) {
                failure = t;
            }
        }

        void assertHealthy() {
            if (failure != null) {
                throw new AssertionError("the sink failed", failure);
            }
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join();
            dev.close();
            guest.close();
        }
    }

    /**
     * A guest on host A. While started, it is connected to the sink by a queue pair of its own and its thread RDMA
     * WRITEs 1 MiB blocks into the sink's window, {@link #QUEUED} at a time, reposting each one that completes.
     * Stopping disconnects and destroys that queue pair, which flushes what was still queued: the next measurement
     * starts from idle queues at once, without waiting out the recovery of a lost frame in a queue pair's tail.
     */
    private static final class Flooder implements AutoCloseable {
        final String name;
        private final SimGuest guest;
        private final GuestDevice dev;
        private final GuestDevice.Pd pd;
        private final GuestDevice.Cq cq;
        private final GuestDevice.Region mr;
        private final AtomicBoolean stopping = new AtomicBoolean();
        private GuestDevice.Qp qp;
        private Thread thread;
        private volatile Throwable failure;

        Flooder(GuestHost host, String name) throws Exception {
            this.name = name;
            guest = host.guest(name, GUEST_MEMORY);
            dev = GuestDevice.open(guest, 0, GuestDevice.Options.defaults());
            pd = dev.allocPd();
            cq = dev.createCq(4 * QUEUED);
            GuestBuffer buf = dev.allocate(BLOCK);
            mr = dev.register(pd, buf, AccessFlags.LOCAL_WRITE);
        }

        /** Connects a new queue pair to the sink and starts writing. */
        void start() throws VerbsException {
            qp = dev.createQp(pd, cq, cq, QUEUED, 1, 1, false);
            dev.connect(qp, SINK_NODE, SINK_SERVICE, -1, null);
            CmEvent event = new CmEvent();
            long deadline = System.nanoTime() + WAIT;
            // Events of an earlier connection (its DISCONNECTED) may come first.
            while (event.type() != CmEventType.ESTABLISHED || event.localQpn() != qp.qpn()) {
                if (!dev.waitCmEvent(event, WAIT) || System.nanoTime() > deadline) {
                    throw new IllegalStateException(name + " did not connect to the sink: " + event);
                }
            }
            ByteBuffer window = ByteBuffer.wrap(event.privateData()).order(ByteOrder.LITTLE_ENDIAN);
            SendWorkRequest write = new SendWorkRequest().opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                    .remoteAddress(window.getLong(0)).rkey(window.getInt(8));
            write.sgl().add(mr.address(), BLOCK, mr.lkey());
            stopping.set(false);
            failure = null;
            int qpn = qp.qpn();
            thread = new Thread(() -> flood(write, qpn), "guest-" + name);
            thread.start();
        }

        private void flood(SendWorkRequest write, int qpn) {
            WorkCompletion wc = new WorkCompletion();
            try {
                for (int i = 0; i < QUEUED; i++) {
                    dev.postSend(qp, write);
                }
                long lastCompletion = System.nanoTime();
                while (!stopping.get()) {
                    if (!dev.waitCq(cq, wc, TimeUnit.MILLISECONDS.toNanos(100))) {
                        if (System.nanoTime() - lastCompletion > WAIT) {
                            throw new IllegalStateException(name + ": no completion in 30 s");
                        }
                        continue;
                    }
                    if (wc.qpn() != qpn) {
                        continue; // flushed from an earlier connection
                    }
                    if (wc.status() != WcStatus.SUCCESS) {
                        throw new IllegalStateException(name + ": write failed: " + wc);
                    }
                    lastCompletion = System.nanoTime();
                    dev.postSend(qp, write);
                }
            } catch (Throwable t) {
                failure = t;
            }
        }

        /** Stops writing, disconnects and destroys the queue pair (flushing what it still had queued). */
        void stop() throws Exception {
            stopping.set(true);
            thread.join();
            dev.disconnect(qp);
            dev.destroyQp(qp);
            WorkCompletion wc = new WorkCompletion();
            while (dev.pollCq(cq, wc)) {
                // the flushed writes
            }
            if (failure != null) {
                throw new AssertionError(name + " failed", failure);
            }
        }

        @Override
        public void close() {
            dev.close();
            guest.close();
        }
    }
}
