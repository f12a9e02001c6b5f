package io.vmrdma.nic.packet.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.vmrdma.api.Counter;
import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.CompletionQueue;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.ProtectionDomain;
import io.vmrdma.api.verbs.QpInitAttributes;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsContext;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.engine.internal.WakeableIdleStrategy;
import io.vmrdma.engine.internal.congestion.CongestionSettings;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import io.vmrdma.sched.testkit.ShareMeter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Benchmark, run with {@code -Dvmrdma.bench=true} (docs/performance.md, "Incast"): hosts in network namespaces on one
 * Linux bridge, every link at MTU 9000, the bridge's port toward the receiver shaped by
 * {@code tbf rate 10gbit burst 512kb limit 2mb} (a 10GbE switch port with 2 MB of buffer). Each host is an engine on
 * nic.packet driven by a thread of its own (its socket opened inside its namespace), with frame authentication off so
 * that the two cores go to the transport. N = 2, 4, 7 senders each keep eight 1 MiB RDMA WRITEs posted on one queue
 * pair into a region of its own on the receiver (one sender first, the same link without incast), first with
 * congestion control ({@code delay}, the default), then
 * with it {@code off} (fixed 4 MiB windows, as before it):
 * <ul>
 * <li>{@code goodput_pct_of_limit}: the WRITE bytes completed in the measured window, all senders together, over the
 * 10GbE payload limit at MTU 9000 (1187 MiB/s);</li>
 * <li>{@code jain}: Jain's index of the senders' bytes in the window;</li>
 * <li>{@code retransmit_pct}: data frames the senders sent again over all frames they sent in the window;</li>
 * <li>a series every 10 ms for the 4-sender rows: each sender's goodput and congestion window;</li>
 * <li>{@code convergence_ms}: 3 senders run, a 4th joins; the time from its first frame until its frame rate over
 * the last 10 ms reaches 80 % of a fair share (a quarter of all four's over the same 10 ms).</li>
 * </ul>
 * Every region is checked byte for byte after each row. The machine's cores are shared by all the engines' threads:
 * the results say how many.
 *
 * <p>Properties: {@code vmrdma.bench.out} (a file: the results as one JSON object), {@code vmrdma.bench.senders}
 * (default {@code 1,2,4,7}: one sender is the link without incast), {@code vmrdma.bench.cc} (default {@code delay,off}), {@code vmrdma.bench.seconds}
 * (measured, default 3), {@code vmrdma.bench.settle} (default 1), {@code vmrdma.bench.tbf} (the qdisc's arguments
 * after {@code tbf}, default {@code rate 10gbit burst 512kb limit 2mb}), {@code vmrdma.bench.target.us} (another
 * target round trip than the default's, to compare).
 */
class IncastBenchmarkTest {

    private static final int MTU = 9000;
    private static final int BLOCK = 1 << 20;
    private static final int QUEUED = 8;
    private static final int SOCKET_BUFFER = 8 << 20;
    private static final double SECONDS = Double.parseDouble(System.getProperty("vmrdma.bench.seconds", "3"));
    private static final double SETTLE = Double.parseDouble(System.getProperty("vmrdma.bench.settle", "1"));
    /** {@code vmrdma.bench.target.us}: another ccTargetRttMicros than the default, to compare. */
    private static final long TARGET_MICROS = Long.getLong("vmrdma.bench.target.us", 0);
    private static final String TBF = System.getProperty("vmrdma.bench.tbf", "rate 10gbit burst 512kb limit 2mb");
    /** Raw Ethernet payload of 10 Gb/s at MTU 9000 (38 B of framing per 9038 B frame), MiB/s. */
    private static final double LIMIT_10GBE_MIB_S = 1187;
    private static final long SAMPLE_NANOS = 10_000_000;
    private static final int SERIES_SENDERS = 4;
    private static final long START = System.nanoTime();

    private final List<String> json = new ArrayList<>();

    @Test
    void incast() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("vmrdma.bench"), "benchmark: run with -Dvmrdma.bench=true");
        int[] counts = Arrays.stream(System.getProperty("vmrdma.bench.senders", "1,2,4,7").split(","))
                .map(String::trim).mapToInt(Integer::parseInt).toArray();
        String[] algorithms = System.getProperty("vmrdma.bench.cc", "delay,off").split(",");
        int most = Math.max(SERIES_SENDERS, Arrays.stream(counts).max().orElse(2));
        progress("incast: %d hosts on a bridge, MTU %d, tbf %s toward the receiver, %d cores", most + 1, MTU, TBF,
                Runtime.getRuntime().availableProcessors());
        try (BridgeLan lan = BridgeLan.create(most + 1, MTU)) {
            List<String> tbf = new ArrayList<>(List.of("qdisc", "add", "dev", "DEV", "root", "tbf"));
            tbf.addAll(List.of(TBF.trim().split("\\s+")));
            lan.tcTowards(0, tbf.toArray(String[]::new));
            Fabric fabric = new Fabric(lan, most);
            json.add(String.format(Locale.ROOT, "\"mtu\":%d,\"tbf\":\"%s\",\"cores\":%d", MTU, TBF,
                    Runtime.getRuntime().availableProcessors()));
            for (String cc : algorithms) {
                CongestionSettings settings = CongestionSettings.DEFAULTS.withAlgorithm(cc.trim());
                if (TARGET_MICROS > 0) {
                    settings = new CongestionSettings(settings.algorithm(), settings.initialWindow(),
                            settings.minWindow(), settings.maxWindow(), TARGET_MICROS * 1000, settings.increaseBytes(),
                            settings.decreasePercent());
                }
                List<String> rows = new ArrayList<>();
                for (int n : counts) {
                    rows.add(fabric.row(settings, n, n == SERIES_SENDERS));
                }
                if (Arrays.stream(counts).noneMatch(n -> n == SERIES_SENDERS)) {
                    rows.add(fabric.row(settings, SERIES_SENDERS, true));
                }
                json.add(String.format(Locale.ROOT, "\"%s\":{\"rows\":[%s],\"join\":%s}", cc.trim(),
                        String.join(",", rows), fabric.join(settings)));
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

    /** The receiver (node 1) and the senders (nodes 2..), each on its host's port, connected once. */
    private static final class Fabric {
        final BridgeLan lan;
        final VerbsEngine[] engines;
        final PacketPort[] ports;
        final Sender[] senders;

        Fabric(BridgeLan lan, int senderCount) throws Exception {
            this.lan = lan;
            engines = new VerbsEngine[senderCount + 1];
            ports = new PacketPort[senderCount + 1];
            for (int h = 0; h <= senderCount; h++) {
                ports[h] = lan.port(h, SOCKET_BUFFER);
                engines[h] = new VerbsEngine(h + 1, System::nanoTime, (long) h + 1);
                engines[h].discovery(false);
                engines[h].nic(ports[h]);
            }
            for (int h = 1; h <= senderCount; h++) {
                engines[0].peer(h + 1, ports[h].address());
                engines[h].peer(1, ports[0].address());
            }
            VerbsContext sink = engines[0].openDomain(1, "sink");
            ProtectionDomain sinkPd = sink.allocPd();
            CompletionQueue sinkCq = sink.createCq(1024);
            senders = new Sender[senderCount];
            for (int i = 0; i < senderCount; i++) {
                senders[i] = new Sender(this, i + 1, sink, sinkPd, sinkCq);
            }
        }

        /** Runs every engine on this thread until {@code done}, for set-up and draining. */
        void runAll(java.util.function.BooleanSupplier done) {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!done.getAsBoolean()) {
                for (VerbsEngine e : engines) {
                    e.doWork();
                }
                assertThat(System.nanoTime()).as("the fabric settles").isLessThan(until);
            }
        }

        /** One row: {@code n} senders writing for the settle time and the measured window. */
        String row(CongestionSettings settings, int n, boolean series) throws Exception {
            for (VerbsEngine e : engines) {
                e.congestion(settings);
            }
            progress("%s, %d senders: settling %.0f s, measuring %.0f s", settings.algorithm(), n, SETTLE, SECONDS);
            Agents agents = new Agents(this, n, n);
            long tbfDropsBefore = tbfDrops();
            long kernelDropsBefore = ports[0].kernelDrops();
            long pressureBefore = engines[0].counter(Counter.PRESSURE_ACKS_SENT);
            agents.start();
            try {
                sleepNanos((long) (SETTLE * 1e9));
                long[] doneBefore = agents.done();
                long[] sentBefore = counters(n, Counter.FRAMES_SENT);
                long[] resentBefore = counters(n, Counter.RETRANSMISSIONS);
                long[] cpuBefore = agents.cpuNanos();
                long t0 = System.nanoTime();
                StringBuilder points = new StringBuilder();
                long[] last = doneBefore;
                long lastAt = t0;
                while (System.nanoTime() - t0 < SECONDS * 1e9) {
                    sleepNanos(SAMPLE_NANOS);
                    if (series) {
                        long now = System.nanoTime();
                        long[] done = agents.done();
                        points.append(points.length() == 0 ? "" : ",").append(String.format(Locale.ROOT,
                                "{\"t_ms\":%.1f,\"mib_s\":%s,\"window_kib\":%s}", (now - t0) / 1e6,
                                rates(last, done, now - lastAt), windows(n)));
                        last = done;
                        lastAt = now;
                    }
                }
                long elapsed = System.nanoTime() - t0;
                long[] cpuPct = Arrays.stream(minus(agents.cpuNanos(), cpuBefore)).map(c -> 100 * c / elapsed)
                        .toArray();
                long[] bytes = minus(agents.done(), doneBefore);
                long sent = sum(minus(counters(n, Counter.FRAMES_SENT), sentBefore));
                long resent = sum(minus(counters(n, Counter.RETRANSMISSIONS), resentBefore));
                agents.stop();
                drain(n);
                double mibS = sum(bytes) / (elapsed / 1e9) / (1 << 20);
                double pct = 100 * mibS / LIMIT_10GBE_MIB_S;
                double jain = ShareMeter.jain(bytes);
                double resentPct = sent == 0 ? 0 : 100.0 * resent / sent;
                long drops = tbfDrops() - tbfDropsBefore;
                long kernelDrops = ports[0].kernelDrops() - kernelDropsBefore;
                long pressure = engines[0].counter(Counter.PRESSURE_ACKS_SENT) - pressureBefore;
                progress("  %.0f MiB/s, %.1f %% of the limit, Jain %.3f, %.2f %% retransmitted, dropped by tbf %d, "
                        + "by the receiver's kernel %d, ACKs with PRESSURE %d; windows KiB %s, round trips µs %s, "
                        + "%% of a core: receiver, senders %s", mibS, pct, jain, resentPct, drops, kernelDrops,
                        pressure, windows(n), roundTrips(n), Arrays.toString(cpuPct));
                return String.format(Locale.ROOT, "{\"senders\":%d,\"mib_s\":%.1f,\"goodput_pct_of_limit\":%.2f,"
                        + "\"jain\":%.4f,\"retransmit_pct\":%.3f,\"frames_sent\":%d,\"retransmissions\":%d,"
                        + "\"tbf_drops\":%d,\"receiver_kernel_drops\":%d,\"pressure_acks\":%d,"
                        + "\"per_sender_mib\":%s,\"cpu_pct\":%s%s}", n, mibS, pct, jain, resentPct, sent,
                        resent, drops, kernelDrops, pressure,
                        Arrays.toString(Arrays.stream(bytes).map(b -> b >> 20).toArray()), Arrays.toString(cpuPct),
                        series ? ",\"series\":[" + points + "]" : "");
            } finally {
                agents.stop();
            }
        }

        /**
         * Three senders run; a fourth joins with a fresh window. Returns its time to a fair share as JSON (-1 when it
         * did not get there within the measured window).
         */
        String join(CongestionSettings settings) throws Exception {
            for (VerbsEngine e : engines) {
                e.congestion(settings);
            }
            int n = SERIES_SENDERS;
            progress("%s: %d senders, the last joining after %.0f s", settings.algorithm(), n, SETTLE);
            Agents agents = new Agents(this, n, n - 1);
            agents.start();
            try {
                sleepNanos((long) (SETTLE * 1e9));
                long sampleNanos = 2_000_000;
                int windowSamples = 5;
                List<long[]> samples = new ArrayList<>();
                List<Long> at = new ArrayList<>();
                agents.startLast();
                long t0 = System.nanoTime();
                while (System.nanoTime() - t0 < SECONDS * 1e9) {
                    samples.add(counters(n, Counter.FRAME_BYTES_SENT));
                    at.add(System.nanoTime() - t0);
                    sleepNanos(sampleNanos);
                }
                agents.stop();
                drain(n);
                double converged = -1;
                for (int i = windowSamples; i < samples.size(); i++) {
                    long[] d = minus(samples.get(i), samples.get(i - windowSamples));
                    if (d[n - 1] > 0 && d[n - 1] >= 0.8 * sum(d) / n) {
                        converged = at.get(i) / 1e6;
                        break;
                    }
                }
                progress("  the fourth sender reached 80 %% of a fair share after %.1f ms", converged);
                return String.format(Locale.ROOT, "{\"senders\":%d,\"convergence_ms\":%.1f}", n, converged);
            } finally {
                agents.stop();
            }
        }

        /** Lets every write posted complete and checks each sender's region byte for byte. */
        void drain(int n) {
            runAll(() -> Arrays.stream(senders, 0, n).allMatch(s -> {
                s.reap(false);
                return s.posted == 0;
            }));
            for (int i = 0; i < n; i++) {
                senders[i].assertArrived();
            }
        }

        long[] counters(int n, Counter c) {
            long[] values = new long[n];
            for (int i = 0; i < n; i++) {
                values[i] = engines[i + 1].counter(c);
            }
            return values;
        }

        String windows(int n) {
            long[] kib = new long[n];
            for (int i = 0; i < n; i++) {
                kib[i] = senders[i].window() >> 10;
            }
            return Arrays.toString(kib);
        }

        String roundTrips(int n) {
            long[] micros = new long[n];
            for (int i = 0; i < n; i++) {
                micros[i] = senders[i].roundTrip() / 1000;
            }
            return Arrays.toString(micros);
        }

        long tbfDrops() {
            Matcher m = Pattern.compile("dropped (\\d+)").matcher(lan.tcTowards(0, "-s", "qdisc", "show", "dev",
                    "DEV"));
            return m.find() ? Long.parseLong(m.group(1)) : -1;
        }
    }

    /** The data agents of one row: the receiver's and those of the senders in it, each a thread of its own. */
    private static final class Agents {
        final Fabric fabric;
        final List<Thread> threads = new ArrayList<>();
        final int senders;
        final int startNow;
        volatile boolean running = true;
        volatile boolean lastMayStart;
        volatile Throwable failure;

        Agents(Fabric fabric, int senders, int startNow) {
            this.fabric = fabric;
            this.senders = senders;
            this.startNow = startNow;
            lastMayStart = startNow == senders;
        }

        void start() {
            threads.add(agent("receiver", fabric.engines[0], null));
            for (int i = 0; i < senders; i++) {
                threads.add(agent("sender-" + (i + 1), fabric.engines[i + 1], fabric.senders[i]));
            }
            threads.forEach(Thread::start);
        }

        void startLast() {
            lastMayStart = true;
        }

        private Thread agent(String name, VerbsEngine engine, Sender sender) {
            boolean last = sender != null && sender == fabric.senders[senders - 1] && startNow < senders;
            return new Thread(() -> {
                WakeableIdleStrategy idle = new WakeableIdleStrategy();
                // As the distribution's data agent: with nothing to do it sleeps on the port's readiness, so an ACK
                // that opens the window wakes a sender at once.
                idle.waiter(engine::awaitFrames);
                try {
                    while (running) {
                        int work = engine.doWork();
                        if (sender != null && (!last || lastMayStart)) {
                            work += sender.reap(true);
                        }
                        idle.idle(work);
                    }
                } catch (Throwable t) {
                    failure = t;
                }
            }, "incast-" + name);
        }

        /** CPU time of each thread so far: the receiver's first, then the senders'. */
        long[] cpuNanos() {
            long[] cpu = new long[threads.size()];
            for (int i = 0; i < cpu.length; i++) {
                cpu[i] = java.lang.management.ManagementFactory.getThreadMXBean()
                        .getThreadCpuTime(threads.get(i).getId());
            }
            return cpu;
        }

        long[] done() {
            long[] bytes = new long[senders];
            for (int i = 0; i < senders; i++) {
                bytes[i] = fabric.senders[i].done;
            }
            return bytes;
        }

        void stop() throws InterruptedException {
            running = false;
            for (Thread t : threads) {
                t.join();
            }
            threads.clear();
            if (failure != null) {
                throw new AssertionError("a data agent failed", failure);
            }
        }
    }

    /** A domain on a sending host with one queue pair to the sink, writing a seeded 1 MiB into its own region. */
    private static final class Sender {
        final int index;
        final byte[] pattern = new byte[BLOCK];
        final ByteBuffer target = ByteBuffer.allocateDirect(BLOCK);
        final CompletionQueue cq;
        final QueuePair qp;
        final SendWorkRequest write;
        final WorkCompletion wc = new WorkCompletion();
        final VerbsEngine engine;
        int posted;
        volatile long done;

        Sender(Fabric fabric, int index, VerbsContext sink, ProtectionDomain sinkPd, CompletionQueue sinkCq)
                throws Exception {
            this.index = index;
            VerbsEngine engine = fabric.engines[index];
            VerbsContext verbs = engine.openDomain(index + 1, "src" + index);
            ProtectionDomain pd = verbs.allocPd();
            cq = verbs.createCq(1024);
            new Random(index).nextBytes(pattern);
            ByteBuffer source = ByteBuffer.allocateDirect(BLOCK);
            source.put(0, pattern);
            MemoryRegion from = verbs.regMr(pd, source, 0x1000_0000L, AccessFlags.LOCAL_WRITE);
            MemoryRegion to = sink.regMr(sinkPd, target, 0x2000_0000L + (long) index * 0x100_0000L,
                    AccessFlags.ALL);
            qp = verbs.createQp(new QpInitAttributes().pd(pd).sendCq(cq).recvCq(cq).maxSendWr(64).maxRecvWr(16));
            QueuePair sinkQp = sink.createQp(new QpInitAttributes().pd(sinkPd).sendCq(sinkCq).recvCq(sinkCq)
                    .maxSendWr(16).maxRecvWr(16));
            long service = 900 + index;
            sink.listen(service);
            verbs.connect(qp, 1, service, -1, null);
            CmEvent request = new CmEvent();
            fabric.runAll(() -> sink.pollCmEvent(request));
            assertThat(request.type()).isEqualTo(CmEventType.CONNECT_REQUEST);
            sink.accept(request.connectionId(), sinkQp, null);
            CmEvent accepted = new CmEvent();
            fabric.runAll(() -> sink.pollCmEvent(accepted));
            assertThat(accepted.type()).isEqualTo(CmEventType.ESTABLISHED);
            sink.stopListening(service);
            CmEvent established = new CmEvent();
            fabric.runAll(() -> verbs.pollCmEvent(established));
            assertThat(established.type()).as(established.toString()).isEqualTo(CmEventType.ESTABLISHED);
            write = new SendWorkRequest().wrId(index).opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                    .remoteAddress(to.address()).rkey(to.rkey());
            write.sgl().add(from.address(), BLOCK, from.lkey());
            this.engine = engine;
        }

        /** Takes completions and, when {@code repost}, keeps {@link #QUEUED} writes posted; returns completions. */
        int reap(boolean repost) {
            int n = 0;
            try {
                while (cq.poll(wc)) {
                    assertThat(wc.status()).as("sender %d's write", index).isEqualTo(WcStatus.SUCCESS);
                    posted--;
                    done += BLOCK;
                    n++;
                }
                while (repost && posted < QUEUED) {
                    qp.postSend(write);
                    posted++;
                }
            } catch (VerbsException e) {
                throw new IllegalStateException(e);
            }
            return n;
        }

        /** The congestion window of this sender's engine toward the receiver, as the console reads it. */
        long window() {
            return receiver().windowBytes();
        }

        long roundTrip() {
            return receiver().roundTripNanos();
        }

        private PeerInfo.Congestion receiver() {
            return engine.peers().stream().filter(p -> p.node() == 1).findFirst().orElseThrow().congestion();
        }

        void assertArrived() {
            byte[] arrived = new byte[BLOCK];
            target.get(0, arrived);
            assertThat(arrived).as("sender %d's bytes", index).isEqualTo(pattern);
        }
    }

    private static String rates(long[] before, long[] after, long nanos) {
        StringBuilder text = new StringBuilder("[");
        for (int i = 0; i < after.length; i++) {
            text.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.1f",
                    (after[i] - before[i]) / (nanos / 1e9) / (1 << 20)));
        }
        return text.append(']').toString();
    }

    private static long[] minus(long[] a, long[] b) {
        long[] d = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i] - b[i];
        }
        return d;
    }

    private static long sum(long[] values) {
        return Arrays.stream(values).sum();
    }

    private static void sleepNanos(long nanos) throws InterruptedException {
        TimeUnit.NANOSECONDS.sleep(nanos);
    }

    private static void progress(String format, Object... args) {
        System.out.printf(Locale.ROOT, "[incast %5.1fs] %s%n", (System.nanoTime() - START) / 1e9,
                String.format(Locale.ROOT, format, args));
        System.out.flush();
    }
}
