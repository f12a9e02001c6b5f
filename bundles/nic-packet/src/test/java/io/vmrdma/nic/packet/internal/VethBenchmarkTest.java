package io.vmrdma.nic.packet.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.NicPort;
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
import io.vmrdma.engine.internal.WakeableIdleStrategy;
import io.vmrdma.engine.internal.auth.FrameKeys;
import io.vmrdma.engine.internal.auth.GcmTagger;
import io.vmrdma.engine.internal.congestion.CongestionSettings;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import io.vmrdma.nic.faults.ForwardingNicPort;
import io.vmrdma.nic.udp.internal.UdpPort;
import io.vmrdma.nic.udp.internal.UdpPorts;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Benchmark, run with {@code -Dvmrdma.bench=true} (docs/performance.md): two engines in two network namespaces over
 * a veth pair on nic.packet, each engine on its own thread with the real clock, RDMA WRITE bandwidth by message size
 * and number of queue pairs and an 8-byte write ping-pong, beside iperf3 (TCP, one stream) and qperf (UDP latency)
 * between the same two namespaces over the same veth, at MTU 1500, 9000 and 65535, in the same run. First on each
 * link, the binding's own ceiling ({@link #bindingFloor}): how fast the two ports move MTU-sized frames with no engine,
 * sender and receiver pinned to cores of their own (the engines' threads are pinned the same way) and the receiver
 * busy polling or blocking on readiness, whichever moves more.
 * After the engine rows, the 1 MiB write once more through ports that do not gather (the payload copied into the
 * binding's slots, as before nic.packet sent it from registered memory): the gather's baseline in the same run.
 * Last on each link, the 1 MiB write over nic.udp between the same namespaces ({@link #udpRows}), with UDP_SEGMENT
 * and UDP_GRO and then with plain datagrams, beside that floor and iperf3.
 *
 * <p>For {@code ./bench.sh}, optional properties: {@code vmrdma.bench.out} (a file: the results as one JSON object),
 * {@code vmrdma.bench.sizes} (write sizes), {@code vmrdma.bench.qps4} (false: no 4-queue-pair row),
 * {@code vmrdma.bench.latsizes} (ping-pong sizes, default 8; empty: no latency rows, no qperf),
 * {@code vmrdma.bench.udp} (false: no nic.udp rows), {@code vmrdma.bench.copyrow} (false: no copy row), {@code vmrdma.bench.seconds} (measured seconds per
 * row), {@code vmrdma.bench.warmup.seconds} (before each row's measurement, default 2: the engines' code is compiled
 * and the link's queues are filled by then), {@code vmrdma.bench.iperf.seconds}, {@code vmrdma.bench.tbf} (a rate such as {@code 10gbit}: a
 * {@code tbf rate R burst 4mb latency 10ms} qdisc on both veth ends, the emulated link) and {@code vmrdma.bench.cpu}
 * (true: CPU accounting with a cgroup-v1 cpuacct group per namespace, see {@link CpuGroups}) and
 * {@code vmrdma.bench.auth} (frame authentication per set of rows, in order, for example {@code on,off}; default
 * {@code off}; {@code on} is the engine's tag, GMAC through OpenSSL; {@code hmac} (HMAC-SHA256), {@code jdkgmac} and
 * {@code aesgcm} ({@link GcmTagger}'s two modes in the JDK) are the alternatives: the bandwidth rows
 * are measured with each, on the same link in the same run, and the ping-pong with the last) and
 * {@code vmrdma.bench.cc} (the engines' congestion control, {@code delay} or {@code off}; default the engine's).
 */
class VethBenchmarkTest {

    private static final long WARMUP_NANOS = (long) (Double.parseDouble(System.getProperty(
            "vmrdma.bench.warmup.seconds", "2")) * 1e9);
    private static final long MEASURE_NANOS = (long) (Double.parseDouble(System.getProperty("vmrdma.bench.seconds",
            "2")) * 1e9);
    private static final int IPERF_SECONDS = Integer.getInteger("vmrdma.bench.iperf.seconds", 5);
    private static final String TBF = System.getProperty("vmrdma.bench.tbf", "");
    private static final byte[] SECRET = "the benchmark cluster's secret..".getBytes(StandardCharsets.US_ASCII);
    private static final int OUTSTANDING_BYTES = 8 << 20;
    private static final boolean UDP_ROWS = Boolean.parseBoolean(System.getProperty("vmrdma.bench.udp", "true"));
    /** {@code vmrdma.bench.copyrow}: the 1 MiB row again with the payload copied into the slots (default true). */
    private static final boolean COPY_ROW = Boolean.parseBoolean(System.getProperty("vmrdma.bench.copyrow", "true"));
    /** The sender's core and the receiver's, for the floor and the engines alike (when the machine has two). */
    private static final int SENDER_CORE = 0;
    private static final int RECEIVER_CORE = 1;
    /** {@code vmrdma.bench.cc}: both engines' congestion control. */
    private static final CongestionSettings CONGESTION = CongestionSettings.DEFAULTS.withAlgorithm(System.getProperty(
            "vmrdma.bench.cc", CongestionSettings.DEFAULTS.algorithm()));

    @Test
    void rdmaWriteBesideIperf3AndQperf() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("vmrdma.bench"), "benchmark: run with -Dvmrdma.bench=true");
        System.out.println("Engine to engine over veth (nic.packet), beside iperf3 TCP (1 stream) and qperf UDP;"
                + " MiB/s and half round trips in us");
        System.out.printf("%6s %9s %4s %12s %12s %8s %10s %12s%n", "MTU", "bytes", "QPs", "vmrdma MiB/s",
                "iperf3 MiB/s", "ratio", "retransmit", "kernel drops");
        List<String> latency = new ArrayList<>();
        List<String> json = new ArrayList<>();
        int[] sizes = ints(System.getProperty("vmrdma.bench.sizes", "64,4096,65536,1048576,4194304"));
        int[] latSizes = ints(System.getProperty("vmrdma.bench.latsizes", "8"));
        boolean fourQps = Boolean.parseBoolean(System.getProperty("vmrdma.bench.qps4", "true"));
        try (CpuGroups cpu = Boolean.getBoolean("vmrdma.bench.cpu") ? CpuGroups.create() : null) {
            for (int mtu : ints(System.getProperty("vmrdma.bench.mtu", "1500,9000,65535"))) {
                try (VethLink link = VethLink.create(mtu)) {
                    VethLink.ip("-n", link.a.name(), "addr", "add", "169.254.77.1/30", "dev", link.interfaceA);
                    VethLink.ip("-n", link.b.name(), "addr", "add", "169.254.77.2/30", "dev", link.interfaceB);
                    if (!TBF.isEmpty()) {
                        tbf(link.a.name(), link.interfaceA);
                        tbf(link.b.name(), link.interfaceB);
                    }
                    CpuGroups.Usage tcpCpu = cpu == null ? null : cpu.snapshot("iperf3");
                    double[] tcpBytes = new double[1];
                    double tcp = iperf3(link, cpu, tcpBytes);
                    String tcpCpuJson = cpu == null ? "null" : cpu.snapshot("iperf3").minus(tcpCpu)
                            .json(tcpBytes[0]);
                    List<String> rows = new ArrayList<>();
                    List<String> copyRows = new ArrayList<>();
                    List<String> lats = new ArrayList<>();
                    double udp;
                    double tcpLat;
                    Floor floor;
                    try (PacketPort a = link.a.call(() -> new PacketPort(PacketSettings.of(link.interfaceA)));
                            PacketPort b = link.b.call(() -> new PacketPort(PacketSettings.of(link.interfaceB)))) {
                        floor = bindingFloor(a, b);
                        System.out.printf(Locale.ROOT, "%6d %9s %4s %12.0f %12.0f %8.2f   (AF_PACKET floor: the"
                                + " binding alone, MTU-sized frames, no engine; receiver busy polling %.0f, blocking"
                                + " on readiness %.0f)%n", mtu, "frames", "-", floor.best(), tcp, floor.best() / tcp,
                                floor.busy(), floor.blocking());
                        Pair pair = null;
                        for (String auth : System.getProperty("vmrdma.bench.auth", "off").split(",")) {
                            if (pair != null) {
                                pair.close();
                            }
                            String tag = auth.trim();
                            System.out.println("frame authentication " + tag);
                            pair = new Pair(a, b, cpu, tag, switch (tag) {
                                case "on" -> new FrameKeys(SECRET);
                                case "hmac" -> new FrameKeys(SECRET, FrameKeys.HMAC_SHA256);
                                case "jdkgmac" -> new FrameKeys(SECRET, GcmTagger.GMAC);
                                case "aesgcm" -> new FrameKeys(SECRET, GcmTagger.ENCRYPTING);
                                default -> null;
                            });
                            for (int bytes : sizes) {
                                rows.add(row(pair, mtu, bytes, 1, tcp, floor.best(), cpu));
                            }
                            if (fourQps) {
                                rows.add(row(pair, mtu, 1 << 20, 4, tcp, floor.best(), cpu));
                            }
                        }
                        if (!TBF.isEmpty()) {
                            // Where an emulated link loses frames: the qdiscs' own drop and overlimit counts.
                            System.out.println(run("ip", "netns", "exec", link.a.name(), "tc", "-s", "qdisc", "show",
                                    "dev", link.interfaceA).trim());
                            System.out.println(run("ip", "netns", "exec", link.b.name(), "tc", "-s", "qdisc", "show",
                                    "dev", link.interfaceB).trim());
                        }
                        udp = latSizes.length == 0 ? 0 : qperfLatency(link, "udp_lat");
                        tcpLat = latSizes.length == 0 ? 0 : qperfLatency(link, "tcp_lat");
                        for (int bytes : latSizes) {
                            double[] lat = pair.pingPong(bytes, 20_000);
                            latency.add(String.format(Locale.ROOT, "MTU %5d: vmrdma %d-byte write p50 %.1f us, p99"
                                    + " %.1f us, p99.9 %.1f us; qperf udp_lat %.1f us, tcp_lat %.1f us;"
                                    + " p50 / udp %.2f", mtu, bytes, lat[0], lat[1], lat[2], udp, tcpLat,
                                    lat[0] / udp));
                            lats.add(String.format(Locale.ROOT, "{\"bytes\":%d,\"p50_us\":%.2f,\"p99_us\":%.2f,"
                                    + "\"p99_9_us\":%.2f}", bytes, lat[0], lat[1], lat[2]));
                        }
                        if (COPY_ROW && Arrays.stream(sizes).anyMatch(size -> size == 1 << 20)) {
                            // The same engines on the same ports, the payload copied into the port's slots as
                            // before the ports gathered it: the gather's baseline, in the same run.
                            pair.close();
                            System.out.println("payload copied into the slots (the ports do not gather)");
                            pair = new Pair(new ForwardingNicPort(a) {
                            }, new ForwardingNicPort(b) {
                            }, cpu, "off", null);
                            copyRows.add(row(pair, mtu, 1 << 20, 1, tcp, floor.best(), cpu));
                        }
                        pair.close();
                    }
                    List<String> udpRows = UDP_ROWS ? udpRows(link, mtu, tcp, floor.best(), cpu) : List.of();
                    json.add(String.format(Locale.ROOT, "{\"mtu\":%d,\"tbf\":\"%s\",\"iperf3_mib_s\":%.1f,"
                            + "\"iperf3_cpu\":%s,\"floor_mib_s\":%.1f,\"floor_busy_mib_s\":%.1f,"
                            + "\"floor_blocking_mib_s\":%.1f,\"udp_lat_us\":%.2f,\"tcp_lat_us\":%.2f,"
                            + "\"write\":[%s],\"copy\":[%s],\"latency\":[%s],\"udp\":[%s]}", mtu, TBF, tcp, tcpCpuJson,
                            floor.best(), floor.busy(), floor.blocking(), udp, tcpLat, String.join(",", rows),
                            String.join(",", copyRows), String.join(",", lats), String.join(",", udpRows)));
                }
            }
        }
        latency.forEach(System.out::println);
        String out = System.getProperty("vmrdma.bench.out", "");
        if (!out.isEmpty()) {
            Path file = Path.of(out).toAbsolutePath();
            Files.createDirectories(file.getParent());
            Files.writeString(file, "{\"links\":[" + String.join(",", json) + "]}\n", StandardCharsets.UTF_8);
        }
    }

    private static int[] ints(String list) {
        if (list.isBlank()) {
            return new int[0];
        }
        return Arrays.stream(list.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
    }

    private static void tbf(String namespace, String device) throws Exception {
        run("ip", "netns", "exec", namespace, "tc", "qdisc", "add", "dev", device, "root", "tbf", "rate", TBF,
                "burst", "4mb", "latency", "10ms");
    }

    /** The binding's ceiling on a link: the better of the receiver's two ways to wait, and each. */
    record Floor(double busy, double blocking) {
        double best() {
            return Math.max(busy, blocking);
        }
    }

    /**
     * The binding's own ceiling on this link, measured before the engines take the ports: A's port sends MTU-sized
     * frames as fast as its batches go (no payload written, no CRC, no protocol), B's port receives and counts them,
     * each on a thread of its own pinned to a core of its own. Measured twice, the receiver busy polling and then
     * blocking on the socket's readiness whenever a poll came back empty (busy polling contends with the sender's
     * softirq for the socket's lock; blocking leaves that core to it): MiB/s of frame bytes received over
     * {@code MEASURE_NANOS} after the warm-up, each way.
     */
    private static Floor bindingFloor(NicPort a, NicPort b) throws Exception {
        double busy = bindingFloor(a, b, false);
        return new Floor(busy, bindingFloor(a, b, true));
    }

    private static double bindingFloor(NicPort a, NicPort b, boolean blocking) throws Exception {
        AtomicBoolean sending = new AtomicBoolean(true);
        int mtu = a.mtu();
        LinkAddress to = b.address();
        Thread sender = new Thread(() -> {
            Cores.pinCurrentThread(SENDER_CORE);
            FrameClaim claim = new FrameClaim();
            while (sending.get()) {
                while (a.tryClaim(to, mtu, claim)) {
                    a.commit(claim, mtu);
                }
                a.flush();
            }
        }, "floor-sender");
        long[] bytes = new long[1];
        FrameHandler count = (buffer, offset, length, source) -> bytes[0] += length;
        Cores.pinCurrentThread(RECEIVER_CORE);
        sender.start();
        try {
            long start = System.nanoTime();
            while (System.nanoTime() - start < WARMUP_NANOS) {
                receive(b, count, blocking);
            }
            bytes[0] = 0;
            long from = System.nanoTime();
            while (System.nanoTime() - from < MEASURE_NANOS) {
                receive(b, count, blocking);
            }
            return bytes[0] / ((System.nanoTime() - from) / 1e9) / (1 << 20);
        } finally {
            sending.set(false);
            sender.join();
            // What the sender left in flight is read and dropped here, not by the engines.
            long quiet = System.nanoTime();
            while (System.nanoTime() - quiet < TimeUnit.MILLISECONDS.toNanos(100)) {
                if (b.poll(count, 64) > 0) {
                    quiet = System.nanoTime();
                }
            }
            Cores.unpinCurrentThread();
        }
    }

    private static void receive(NicPort port, FrameHandler count, boolean blocking) {
        if (port.poll(count, 64) == 0 && blocking) {
            port.awaitFrames(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    /**
     * The 1 MiB RDMA WRITE between engines on nic.udp in the same two namespaces (frames of the link MTU less the
     * IPv4 and UDP headers), first with UDP_SEGMENT and UDP_GRO, then with both off, each after the nic.udp ports'
     * own floor ({@link #bindingFloor}): printed beside that, this link's AF_PACKET floor and iperf3, and returned as
     * JSON rows ({@code offload} gso or plain).
     */
    private static List<String> udpRows(VethLink link, int mtu, double tcp, double floor, CpuGroups cpu)
            throws Exception {
        int frames = Math.min(mtu - 28, 65507);
        List<String> rows = new ArrayList<>();
        for (boolean offload : new boolean[] {true, false}) {
            try (UdpPort a = link.a.call(() -> UdpPorts.open(InetAddress.getByName("169.254.77.1"), 4792, frames,
                    offload, offload));
                    UdpPort b = link.b.call(() -> UdpPorts.open(InetAddress.getByName("169.254.77.2"), 4792, frames,
                            offload, offload))) {
                double udpFloor = bindingFloor(a, b).best();
                Pair pair = new Pair(a, b, cpu, "off", null);
                double mibs;
                try {
                    mibs = pair.bandwidth(1 << 20, 1);
                } finally {
                    pair.close();
                }
                String name = offload ? "gso" : "plain";
                System.out.printf(Locale.ROOT, "%6d %9d %4d %12.0f %12.0f %8.2f   (nic.udp %s: %.2f x its own floor"
                        + " %.0f, %.2f x the AF_PACKET floor %.0f; %d super-datagrams sent, %d coalesced received)%n",
                        mtu, 1 << 20, 1, mibs, tcp, mibs / tcp, name, mibs / udpFloor, udpFloor, mibs / floor, floor,
                        a.superDatagramsSent(), b.coalescedReceived());
                rows.add(String.format(Locale.ROOT, "{\"offload\":\"%s\",\"bytes\":%d,\"qps\":1,\"mib_s\":%.1f,"
                        + "\"floor_mib_s\":%.1f,\"gso_sends\":%d,\"gro_receives\":%d,\"cpu\":%s}", name, 1 << 20,
                        mibs, udpFloor, a.superDatagramsSent(), b.coalescedReceived(),
                        pair.lastCpu == null ? "null" : pair.lastCpu));
            }
        }
        return rows;
    }

    /** One bandwidth row, printed and returned as JSON (with both namespaces' CPU when accounted). */
    private static String row(Pair pair, int mtu, int bytes, int qps, double tcp, double floor, CpuGroups cpu)
            throws Exception {
        long before = pair.retransmissions();
        long dropsBefore = pair.kernelDrops();
        long[] framesBefore = pair.framesAndAcks();
        double mibs = pair.bandwidth(bytes, qps);
        long[] frames = pair.framesAndAcks();
        double acksPerFrame = (frames[1] - framesBefore[1]) / (double) Math.max(1, frames[0] - framesBefore[0]);
        long retransmitted = pair.retransmissions() - before;
        long dropped = pair.kernelDrops() - dropsBefore;
        System.out.printf(Locale.ROOT, "%6d %9d %4d %12.0f %12.0f %8.2f %10d %12d   (%.2f x the floor %.0f; %.3f ACKs"
                + " per frame)%n", mtu, bytes, qps, mibs, tcp, mibs / tcp, retransmitted, dropped, mibs / floor, floor,
                acksPerFrame);
        return String.format(Locale.ROOT, "{\"bytes\":%d,\"qps\":%d,\"auth\":\"%s\",\"mib_s\":%.1f,"
                + "\"retransmissions\":%d,\"kernel_drops\":%d,\"acks_per_frame\":%.4f,\"cpu\":%s}", bytes, qps,
                pair.authenticated, mibs, retransmitted, dropped, acksPerFrame,
                pair.lastCpu == null ? "null" : pair.lastCpu);
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
        private volatile Runnable bApplication = () -> {
        };
        private long nextService = 10;
        private final CpuGroups cpu;
        private final NicPort portA;
        private final NicPort portB;
        /** Both namespaces' CPU over the last bandwidth measurement, as JSON, when accounted. */
        String lastCpu;
        /** How frames are authenticated: off, on (the engine's HMAC-SHA256) or gmac. */
        final String authenticated;

        /** Engines 1 and 2 on the two ports, their frames authenticated with {@code keys} (null: auth = off). */
        Pair(NicPort portA, NicPort portB, CpuGroups cpu, String auth, FrameKeys keys) throws Exception {
            this.cpu = cpu;
            this.authenticated = keys == null ? "off" : auth;
            a.authentication(keys);
            b.authentication(keys);
            a.congestion(CONGESTION);
            b.congestion(CONGESTION);
            this.portA = portA;
            this.portB = portB;
            if (cpu != null) {
                cpu.joinCurrentThread("vmrdma-a");
            }
            a.nic(portA);
            b.nic(portB);
            a.peer(2, portB.address());
            b.peer(1, portA.address());
            va = a.openDomain(1, "a");
            vb = b.openDomain(2, "b");
            bThread = new Thread(() -> {
                if (cpu != null) {
                    cpu.joinCurrentThread("vmrdma-b");
                }
                Cores.pinCurrentThread(RECEIVER_CORE);
                // The production data agent's idle strategy with no guests (spin, yield, then sleep on the port's
                // readiness up to 1 ms): a receiving engine that busy-polled would take the core the kernel needs for
                // the link (softirq, a qdisc's timer).
                WakeableIdleStrategy idle = new WakeableIdleStrategy();
                idle.waiter(b::awaitFrames);
                while (bRuns.get()) {
                    int work;
                    synchronized (this) {
                        work = b.doWork();
                        // After every cycle: a guest polling its memory on a core of its own sees data once placed.
                        bApplication.run();
                    }
                    idle.idle(work);
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
                                    CompletionQueue cqb, QueuePair[] bEnds)
                throws Exception {
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
            Cores.pinCurrentThread(SENDER_CORE);
            try {
                return pinnedBandwidth(bytes, qpCount);
            } finally {
                Cores.unpinCurrentThread();
            }
        }

        private double pinnedBandwidth(int bytes, int qpCount) throws Exception {
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
            CpuGroups.Usage cpuFrom = null;
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
                        cpuFrom = cpu == null ? null : cpu.snapshot("vmrdma");
                    }
                    completed++;
                    qpOf(qps, wc.qpn()).postSend(write);
                }
                if (measuredFrom != 0 && System.nanoTime() - measuredFrom > MEASURE_NANOS) {
                    break;
                }
            }
            double seconds = (System.nanoTime() - measuredFrom) / 1e9;
            lastCpu = cpuFrom == null ? null : cpu.snapshot("vmrdma").minus(cpuFrom).json(completed * (double) bytes);
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
         * p50, p99 and p99.9, in microseconds.
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
            bApplication = () -> {
            };
            Arrays.sort(samples);
            return new double[] {samples[iterations / 2] / 2e3, samples[iterations * 99 / 100] / 2e3,
                samples[iterations * 999 / 1000] / 2e3};
        }

        /**
         * Frames both ports' sockets dropped for a full receive buffer so far, B's read between its cycles; 0 for a
         * binding that does not count them.
         */
        long kernelDrops() throws Exception {
            long[] atB = new long[1];
            onB(() -> atB[0] = kernelDrops(portB));
            return kernelDrops(portA) + atB[0];
        }

        private static long kernelDrops(NicPort port) {
            return port instanceof PacketPort packet ? packet.kernelDrops() : 0;
        }

        /** Frames A sent and ACKs B sent so far: the acknowledgements per data frame of a row. */
        long[] framesAndAcks() throws Exception {
            long[] acks = new long[1];
            onB(() -> acks[0] = b.counter(io.vmrdma.api.Counter.ACKS_SENT));
            return new long[] {a.counter(io.vmrdma.api.Counter.FRAMES_SENT), acks[0]};
        }

        long retransmissions() {
            return a.counter(io.vmrdma.api.Counter.RETRANSMISSIONS) + b.counter(io.vmrdma.api.Counter.RETRANSMISSIONS);
        }

        void close() throws InterruptedException {
            bRuns.set(false);
            bThread.join();
        }
    }

    /**
     * iperf3, one TCP stream from a to b for {@code vmrdma.bench.iperf.seconds} (default 5): MiB/s received; the bytes
     * received go to {@code bytes[0]}. With CPU accounting each side starts inside its namespace's iperf3 group.
     */
    private static double iperf3(VethLink link, CpuGroups cpu, double[] bytes) throws Exception {
        Process server = new ProcessBuilder(inGroup(cpu, "iperf3-b", "ip", "netns", "exec", link.b.name(), "iperf3",
                "-s", "-1", "-B", "169.254.77.2")).redirectErrorStream(true).start();
        try {
            Thread.sleep(500);
            String out = run(inGroup(cpu, "iperf3-a", "ip", "netns", "exec", link.a.name(), "iperf3", "-c",
                    "169.254.77.2", "-t", Integer.toString(IPERF_SECONDS), "-J"));
            Matcher m = Pattern.compile("\"sum_received\"\\s*:\\s*\\{[^}]*\"bits_per_second\"\\s*:\\s*([0-9.e+]+)")
                    .matcher(out);
            assertThat(m.find()).as("iperf3 output: %s", out).isTrue();
            Matcher received = Pattern.compile("\"sum_received\"\\s*:\\s*\\{[^}]*\"bytes\"\\s*:\\s*([0-9.e+]+)")
                    .matcher(out);
            bytes[0] = received.find() ? Double.parseDouble(received.group(1)) : Double.NaN;
            server.waitFor(5, TimeUnit.SECONDS);
            return Double.parseDouble(m.group(1)) / 8 / (1 << 20);
        } finally {
            server.destroy();
            server.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** {@code command}, started by a shell that first moves itself into CPU group {@code group} (if accounting). */
    private static String[] inGroup(CpuGroups cpu, String group, String... command) {
        if (cpu == null) {
            return command;
        }
        String[] wrapped = new String[command.length + 4];
        wrapped[0] = "sh";
        wrapped[1] = "-c";
        wrapped[2] = "echo $$ > " + cpu.procsFile(group) + " && exec \"$@\"";
        wrapped[3] = "sh";
        System.arraycopy(command, 0, wrapped, 4, command.length);
        return wrapped;
    }

    /** qperf's {@code test} (udp_lat or tcp_lat, 8-byte messages) from a to b: its one-way latency, in microseconds. */
    private static double qperfLatency(VethLink link, String test) throws Exception {
        Process server = new ProcessBuilder("ip", "netns", "exec", link.b.name(), "qperf").redirectErrorStream(true)
                .start();
        try {
            Thread.sleep(500);
            String out = run("ip", "netns", "exec", link.a.name(), "qperf", "-t", "3", "-m", "8", "169.254.77.2",
                    test);
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

    /**
     * CPU accounting for the benchmark: a cgroup-v1 {@code cpuacct} group per namespace and per contender
     * ({@code vmrdma-a}, {@code vmrdma-b}: the engine threads of namespace a and b, moved in by thread id;
     * {@code iperf3-a}, {@code iperf3-b}: the iperf3 client and server processes, started inside them). User and
     * system time as the kernel charges it to those threads (softirq work done in a thread's context, such as veth
     * delivery during a send, is charged to that thread); beside it the machine-wide softirq time from
     * {@code /proc/stat} over the same window, reported separately because it includes every process's.
     */
    static final class CpuGroups implements AutoCloseable {
        private static final Path ROOT = Path.of("/sys/fs/cgroup/cpuacct");
        private final Path base;

        private CpuGroups(Path base) {
            this.base = base;
        }

        static CpuGroups create() throws Exception {
            if (!Files.isRegularFile(ROOT.resolve("cpuacct.usage_user"))) {
                throw new IllegalStateException("CPU accounting needs cgroup v1 cpuacct at " + ROOT);
            }
            Path base = ROOT.resolve("vmrdma-bench-" + ProcessHandle.current().pid());
            Files.createDirectories(base);
            for (String g : new String[] {"vmrdma-a", "vmrdma-b", "iperf3-a", "iperf3-b"}) {
                Files.createDirectories(base.resolve(g));
            }
            return new CpuGroups(base);
        }

        String procsFile(String group) {
            return base.resolve(group).resolve("cgroup.procs").toString();
        }

        /** Moves the calling thread (only it) into {@code group}. */
        void joinCurrentThread(String group) {
            try {
                String self = Files.readSymbolicLink(Path.of("/proc/thread-self")).toString();
                String tid = self.substring(self.lastIndexOf('/') + 1);
                Files.writeString(base.resolve(group).resolve("tasks"), tid);
            } catch (Exception e) {
                throw new IllegalStateException("cannot move thread into " + group, e);
            }
        }

        /** Cumulative usage of {@code prefix}-a and {@code prefix}-b, and the machine's softirq time, now. */
        Usage snapshot(String prefix) {
            try {
                return new Usage(read(prefix + "-a", "cpuacct.usage_user"), read(prefix + "-a", "cpuacct.usage_sys"),
                        read(prefix + "-b", "cpuacct.usage_user"), read(prefix + "-b", "cpuacct.usage_sys"),
                        softirqNanos(), System.nanoTime());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        private long read(String group, String file) throws Exception {
            return Long.parseLong(Files.readString(base.resolve(group).resolve(file)).trim());
        }

        private static long softirqNanos() throws Exception {
            String[] cpu = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            return Long.parseLong(cpu[7]) * 10_000_000L; // USER_HZ = 100
        }

        record Usage(long aUser, long aSys, long bUser, long bSys, long softirq, long wall) {
            Usage minus(Usage o) {
                return new Usage(aUser - o.aUser, aSys - o.aSys, bUser - o.bUser, bSys - o.bSys, softirq - o.softirq,
                        wall - o.wall);
            }

            /** JSON of this interval's usage for {@code bytes} moved. */
            String json(double bytes) {
                double gib = bytes / (1L << 30);
                double a = (aUser + aSys) / 1e9;
                double b = (bUser + bSys) / 1e9;
                return String.format(Locale.ROOT, "{\"a_user_s\":%.4f,\"a_sys_s\":%.4f,\"b_user_s\":%.4f,"
                        + "\"b_sys_s\":%.4f,\"total_s\":%.4f,\"wall_s\":%.4f,\"gib\":%.4f,\"s_per_gib\":%.4f,"
                        + "\"softirq_machine_s\":%.3f}", aUser / 1e9, aSys / 1e9, bUser / 1e9, bSys / 1e9, a + b,
                        wall / 1e9, gib, (a + b) / gib, softirq / 1e9);
            }
        }

        @Override
        public void close() throws Exception {
            Path rootTasks = ROOT.resolve("tasks");
            for (String g : new String[] {"vmrdma-a", "vmrdma-b", "iperf3-a", "iperf3-b"}) {
                for (String tid : Files.readAllLines(base.resolve(g).resolve("tasks"))) {
                    if (!tid.isBlank()) {
                        try {
                            Files.writeString(rootTasks, tid.trim());
                        } catch (Exception gone) {
                            // the thread exited meanwhile
                        }
                    }
                }
                Files.deleteIfExists(base.resolve(g));
            }
            Files.deleteIfExists(base);
        }
    }

    /**
     * Pins benchmark threads to cores, as a tuned deployment pins the data agent: the floor and the engines then run
     * the sender and the receiver on the same two cores. Through {@code taskset} on the thread's id; nothing on a
     * machine with fewer than two cores.
     */
    static final class Cores {
        private static final boolean TWO = Runtime.getRuntime().availableProcessors() >= 2;

        static void pinCurrentThread(int core) {
            if (TWO) {
                taskset(Integer.toString(core));
            }
        }

        static void unpinCurrentThread() {
            if (TWO) {
                taskset("0-" + (Runtime.getRuntime().availableProcessors() - 1));
            }
        }

        private static void taskset(String cores) {
            try {
                String self = Files.readSymbolicLink(Path.of("/proc/thread-self")).toString();
                run("taskset", "-p", "-c", cores, self.substring(self.lastIndexOf('/') + 1));
            } catch (Exception e) {
                throw new IllegalStateException("cannot pin this thread to cores " + cores, e);
            }
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
