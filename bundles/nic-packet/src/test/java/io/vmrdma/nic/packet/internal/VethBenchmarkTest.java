package io.vmrdma.nic.packet.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Benchmark, run with {@code -Dvmrdma.bench=true} (docs/performance.md): two engines in two network namespaces over
 * a veth pair on nic.packet, each engine on its own thread with the real clock, RDMA WRITE bandwidth by message size
 * and number of queue pairs and an 8-byte write ping-pong, beside iperf3 (TCP, one stream) and qperf (UDP latency)
 * between the same two namespaces over the same veth, at MTU 1500, 9000 and 65535, in the same run.
 */
class VethBenchmarkTest {

    private static final long WARMUP_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    private static final long MEASURE_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final int OUTSTANDING_BYTES = 8 << 20;

    @Test
    void rdmaWriteBesideIperf3AndQperf() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("vmrdma.bench"), "benchmark: run with -Dvmrdma.bench=true");
        System.out.println("Engine to engine over veth (nic.packet), beside iperf3 TCP (1 stream) and qperf UDP;"
                + " MiB/s and half round trips in us");
        System.out.printf("%6s %9s %4s %12s %12s %8s %10s%n", "MTU", "bytes", "QPs", "vmrdma MiB/s", "iperf3 MiB/s",
                "ratio", "retransmit");
        List<String> latency = new ArrayList<>();
        for (int mtu : Arrays.stream(System.getProperty("vmrdma.bench.mtu", "1500,9000,65535").split(","))
                .mapToInt(Integer::parseInt).toArray()) {
            try (VethLink link = VethLink.create(mtu)) {
                VethLink.ip("-n", link.a.name(), "addr", "add", "10.77.0.1/30", "dev", link.interfaceA);
                VethLink.ip("-n", link.b.name(), "addr", "add", "10.77.0.2/30", "dev", link.interfaceB);
                double tcp = iperf3(link);
                try (PacketPort a = link.a.call(() -> new PacketPort(PacketSettings.of(link.interfaceA)));
                     PacketPort b = link.b.call(() -> new PacketPort(PacketSettings.of(link.interfaceB)))) {
                    Pair pair = new Pair(a, b);
                    for (int bytes : new int[] {64, 4096, 65536, 1 << 20, 4 << 20}) {
                        long before = pair.retransmissions();
                        double mibs = pair.bandwidth(bytes, 1);
                        System.out.printf(Locale.ROOT, "%6d %9d %4d %12.0f %12.0f %8.2f %10d%n", mtu, bytes, 1, mibs,
                                tcp, mibs / tcp, pair.retransmissions() - before);
                    }
                    long before = pair.retransmissions();
                    double four = pair.bandwidth(1 << 20, 4);
                    System.out.printf(Locale.ROOT, "%6d %9d %4d %12.0f %12.0f %8.2f %10d%n", mtu, 1 << 20, 4, four, tcp,
                            four / tcp, pair.retransmissions() - before);
                    double[] lat = pair.pingPong(8, 20_000);
                    double udp = qperfUdpLatency(link);
                    latency.add(String.format(Locale.ROOT, "MTU %5d: vmrdma 8-byte write p50 %.1f us, p99 %.1f us;"
                            + " qperf udp_lat %.1f us; p50 / udp %.2f", mtu, lat[0], lat[1], udp, lat[0] / udp));
                    pair.close();
                }
            }
        }
        latency.forEach(System.out::println);
    }

    /** Two engines, each driven by its own thread; the requester's application runs on engine A's thread. */
    private static final class Pair {
        private final VerbsEngine a = new VerbsEngine(1, System::nanoTime, 1L);
        private final VerbsEngine b = new VerbsEngine(2, System::nanoTime, 2L);
        private final VerbsContext va;
        private final VerbsContext vb;
        private final AtomicBoolean bRuns = new AtomicBoolean(true);
        private final Thread bThread;
        private final AtomicLong bPolls = new AtomicLong();
        private volatile Runnable bApplication = () -> { };
        private long nextService = 10;

        Pair(PacketPort portA, PacketPort portB) throws Exception {
            a.nic(portA);
            b.nic(portB);
            a.peer(2, portB.address());
            b.peer(1, portA.address());
            va = a.openDomain(1, "a");
            vb = b.openDomain(2, "b");
            bThread = new Thread(() -> {
                while (bRuns.get()) {
                    synchronized (this) {
                        if (b.doWork() == 0) {
                            bApplication.run();
                        }
                    }
                    bPolls.incrementAndGet();
                }
            }, "engine-b");
            bThread.start();
        }

        /**
         * Connects {@code count} queue pairs, A's ends returned and B's put into {@code bEnds}; B's side is touched
         * only between its duty cycles ({@link #onB}).
         */
        private QueuePair[] connect(int count, ProtectionDomain pda, CompletionQueue cqa, ProtectionDomain pdb,
                                    CompletionQueue cqb, QueuePair[] bEnds) throws Exception {
            QueuePair[] qps = new QueuePair[count];
            for (int i = 0; i < count; i++) {
                long service = nextService++;
                QueuePair qa = va.createQp(new QpInitAttributes().pd(pda).sendCq(cqa).recvCq(cqa).maxSendWr(1024)
                        .maxRecvWr(16));
                QueuePair[] qb = new QueuePair[1];
                onB(() -> {
                    qb[0] = vb.createQp(new QpInitAttributes().pd(pdb).sendCq(cqb).recvCq(cqb).maxSendWr(1024)
                            .maxRecvWr(16));
                    vb.listen(service);
                });
                va.connect(qa, 2, service, -1, null);
                CmEvent request = new CmEvent();
                CmEvent established = new CmEvent();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                boolean[] accepted = {false};
                while (!va.pollCmEvent(established)) {
                    a.doWork();
                    onB(() -> {
                        if (!accepted[0] && vb.pollCmEvent(request) && request.type() == CmEventType.CONNECT_REQUEST) {
                            vb.accept(request.connectionId(), qb[0], null);
                            accepted[0] = true;
                        }
                    });
                    assertThat(System.nanoTime()).as("connection").isLessThan(deadline);
                }
                assertThat(established.type()).isEqualTo(CmEventType.ESTABLISHED);
                qps[i] = qa;
                bEnds[i] = qb[0];
            }
            return qps;
        }

        interface BTask {
            void run() throws Exception;
        }

        /** Runs {@code task} on engine B's state, between two of its duty cycles. */
        private void onB(BTask task) throws Exception {
            synchronized (this) {
                task.run();
            }
        }

        /** MiB/s of back-to-back RDMA WRITEs of {@code bytes} over {@code qpCount} queue pairs. */
        double bandwidth(int bytes, int qpCount) throws Exception {
            ProtectionDomain pda = va.allocPd();
            ProtectionDomain[] pdb = new ProtectionDomain[1];
            CompletionQueue cqa = va.createCq(4096);
            CompletionQueue[] cqb = new CompletionQueue[1];
            onB(() -> {
                pdb[0] = vb.allocPd();
                cqb[0] = vb.createCq(64);
            });
            MemoryRegion from = va.regMr(pda, ByteBuffer.allocateDirect(bytes), 0x1000_0000L, AccessFlags.ALL);
            MemoryRegion[] to = new MemoryRegion[1];
            onB(() -> to[0] = vb.regMr(pdb[0], ByteBuffer.allocateDirect(bytes), 0x2000_0000L, AccessFlags.ALL));
            QueuePair[] qps = connect(qpCount, pda, cqa, pdb[0], cqb[0], new QueuePair[qpCount]);
            SendWorkRequest write = new SendWorkRequest().opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                    .remoteAddress(to[0].address()).rkey(to[0].rkey());
            write.sgl().add(from.address(), bytes, from.lkey());
            int perQp = Math.max(1, Math.min(512, OUTSTANDING_BYTES / bytes / qpCount));
            for (QueuePair qp : qps) {
                for (int i = 0; i < perQp; i++) {
                    qp.postSend(write.wrId(i));
                }
            }
            WorkCompletion wc = new WorkCompletion();
            long start = System.nanoTime();
            long measuredFrom = 0;
            long completed = 0;
            while (true) {
                a.doWork();
                while (cqa.poll(wc)) {
                    if (wc.status() != WcStatus.SUCCESS) {
                        throw new IllegalStateException("write failed: " + wc);
                    }
                    long now = System.nanoTime();
                    if (measuredFrom == 0 && now - start > WARMUP_NANOS) {
                        measuredFrom = now;
                        completed = 0;
                    }
                    completed++;
                    qpOf(qps, wc.qpn()).postSend(write);
                }
                if (measuredFrom != 0 && System.nanoTime() - measuredFrom > MEASURE_NANOS) {
                    break;
                }
            }
            double seconds = (System.nanoTime() - measuredFrom) / 1e9;
            for (QueuePair qp : qps) {
                va.destroyQp(qp);
            }
            drain(cqa, wc);
            return completed * (double) bytes / seconds / (1 << 20);
        }

        private void drain(CompletionQueue cq, WorkCompletion wc) {
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
            while (System.nanoTime() < until) {
                a.doWork();
                cq.poll(wc);
            }
        }

        private static QueuePair qpOf(QueuePair[] qps, int qpn) {
            for (QueuePair qp : qps) {
                if (qp.address().qpn() == qpn) {
                    return qp;
                }
            }
            throw new IllegalStateException("no queue pair " + qpn);
        }

        /**
         * perftest's write_lat between the engines: A writes {@code bytes} whose last 8 carry the iteration into B's
         * buffer; B's application, polling its memory between duty cycles, writes the same back. Half round trips,
         * p50 and p99, in microseconds.
         */
        double[] pingPong(int bytes, int iterations) throws Exception {
            ProtectionDomain pda = va.allocPd();
            CompletionQueue cqa = va.createCq(64);
            ByteBuffer memA = ByteBuffer.allocateDirect(2 * bytes).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer memB = ByteBuffer.allocateDirect(2 * bytes).order(ByteOrder.LITTLE_ENDIAN);
            MemoryRegion mrA = va.regMr(pda, memA, 0x3000_0000L, AccessFlags.ALL);
            ProtectionDomain[] pdb = new ProtectionDomain[1];
            CompletionQueue[] cqb = new CompletionQueue[1];
            MemoryRegion[] mrB = new MemoryRegion[1];
            onB(() -> {
                pdb[0] = vb.allocPd();
                cqb[0] = vb.createCq(64);
                mrB[0] = vb.regMr(pdb[0], memB, 0x4000_0000L, AccessFlags.ALL);
            });
            QueuePair[] bEnd = new QueuePair[1];
            QueuePair qa = connect(1, pda, cqa, pdb[0], cqb[0], bEnd)[0];
            QueuePair qb = bEnd[0];
            int seqAt = bytes - 8;
            SendWorkRequest toB = new SendWorkRequest().opcode(Opcode.RDMA_WRITE).remoteAddress(mrB[0].address())
                    .rkey(mrB[0].rkey());
            toB.sgl().add(mrA.address() + bytes, bytes, mrA.lkey());
            SendWorkRequest toA = new SendWorkRequest().opcode(Opcode.RDMA_WRITE).remoteAddress(mrA.address())
                    .rkey(mrA.rkey());
            toA.sgl().add(mrB[0].address() + bytes, bytes, mrB[0].lkey());
            long[] answered = {0};
            bApplication = () -> {
                long seen = memB.getLong(seqAt);
                if (seen > answered[0]) {
                    answered[0] = seen;
                    memB.putLong(bytes + seqAt, seen);
                    try {
                        qb.postSend(toA.wrId(seen).sendFlags(seen % 64 == 0 ? SendFlags.SIGNALED : 0));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    while (cqb[0].poll(new WorkCompletion())) {
                        // reaped
                    }
                }
            };
            long[] samples = new long[iterations];
            WorkCompletion wc = new WorkCompletion();
            for (int i = 1; i <= iterations; i++) {
                long start = System.nanoTime();
                memA.putLong(bytes + seqAt, i);
                qa.postSend(toB.wrId(i).sendFlags(i % 64 == 0 ? SendFlags.SIGNALED : 0));
                while (memA.getLong(seqAt) < i) {
                    a.doWork();
                    cqa.poll(wc);
                }
                samples[i - 1] = System.nanoTime() - start;
            }
            bApplication = () -> { };
            Arrays.sort(samples);
            return new double[] {samples[iterations / 2] / 2e3, samples[iterations * 99 / 100] / 2e3};
        }

        long retransmissions() {
            return a.counter(io.vmrdma.api.Counter.RETRANSMISSIONS) + b.counter(io.vmrdma.api.Counter.RETRANSMISSIONS);
        }

        void close() throws InterruptedException {
            bRuns.set(false);
            bThread.join();
        }
    }

    /** iperf3, one TCP stream from a to b for 5 s: MiB/s received. */
    private static double iperf3(VethLink link) throws Exception {
        Process server = new ProcessBuilder("ip", "netns", "exec", link.b.name(), "iperf3", "-s", "-1", "-B",
                "10.77.0.2").redirectErrorStream(true).start();
        try {
            Thread.sleep(500);
            String out = run("ip", "netns", "exec", link.a.name(), "iperf3", "-c", "10.77.0.2", "-t", "5", "-J");
            Matcher m = Pattern.compile("\"sum_received\"\\s*:\\s*\\{[^}]*\"bits_per_second\"\\s*:\\s*([0-9.e+]+)")
                    .matcher(out);
            assertThat(m.find()).as("iperf3 output: %s", out).isTrue();
            return Double.parseDouble(m.group(1)) / 8 / (1 << 20);
        } finally {
            server.destroy();
            server.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** qperf's udp_lat (8-byte messages) from a to b: its one-way latency, in microseconds. */
    private static double qperfUdpLatency(VethLink link) throws Exception {
        Process server = new ProcessBuilder("ip", "netns", "exec", link.b.name(), "qperf").redirectErrorStream(true)
                .start();
        try {
            Thread.sleep(500);
            String out = run("ip", "netns", "exec", link.a.name(), "qperf", "-t", "3", "-m", "8", "10.77.0.2",
                    "udp_lat");
            Matcher m = Pattern.compile("latency\\s*=\\s*([0-9.]+)\\s*(us|ms|ns)").matcher(out);
            assertThat(m.find()).as("qperf output: %s", out).isTrue();
            double value = Double.parseDouble(m.group(1));
            return switch (m.group(2)) {
                case "ms" -> value * 1000;
                case "ns" -> value / 1000;
                default -> value;
            };
        } finally {
            server.destroy();
            server.waitFor(5, TimeUnit.SECONDS);
        }
    }

    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
        return out;
    }
}
