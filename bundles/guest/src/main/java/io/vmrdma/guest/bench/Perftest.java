package io.vmrdma.guest.bench;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Locale;

import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.guest.GuestDevice;

/**
 * perftest's tests over two {@link Endpoint}s. Bandwidth tests run on the client only (the server's memory is
 * the target, its CPU idle, as with perftest's {@code ib_write_bw}); latency tests run on both sides at once, each
 * in its own thread or process, and time round trips (reported, as perftest does, as half of them).
 */
public final class Perftest {

    /** The tests, under perftest's names. */
    public enum Test {
        WRITE_BW("ib_write_bw"), READ_BW("ib_read_bw"), WRITE_LAT("ib_write_lat"), SEND_LAT("ib_send_lat");

        private final String tool;

        Test(String tool) {
            this.tool = tool;
        }

        public String tool() {
            return tool;
        }

        public boolean bandwidth() {
            return this == WRITE_BW || this == READ_BW;
        }
    }

    /** A bandwidth row: perftest's {@code #bytes #iterations BW peak BW average MsgRate}, in MB/s = 2^20 B/s. */
    public record Bandwidth(Test test, int bytes, int iterations, double peakMiBps, double averageMiBps,
                            double mpps) {
        public static String header() {
            return String.format(Locale.ROOT, " %-10s %-13s %-18s %-20s %s", "#bytes", "#iterations",
                    "BW peak[MB/sec]", "BW average[MB/sec]", "MsgRate[Mpps]");
        }

        public String row() {
            return String.format(Locale.ROOT, " %-10d %-13d %-18.2f %-20.2f %.6f", bytes, iterations, peakMiBps,
                    averageMiBps, mpps);
        }

        public String json() {
            return String.format(Locale.ROOT, "{\"test\":\"%s\",\"bytes\":%d,\"iterations\":%d,"
                    + "\"bw_peak_mbps\":%.2f,\"bw_avg_mbps\":%.2f,\"msg_rate_mpps\":%.6f}", test.tool(), bytes,
                    iterations, peakMiBps, averageMiBps, mpps);
        }
    }

    /** A latency row, perftest's columns; times in microseconds (half round trips). */
    public record Latency(Test test, int bytes, int iterations, double min, double max, double typical,
                          double average, double stdev, double p99, double p999) {
        public static String header() {
            return String.format(Locale.ROOT, " %-8s %-12s %-13s %-13s %-16s %-13s %-15s %-22s %s", "#bytes",
                    "#iterations", "t_min[usec]", "t_max[usec]", "t_typical[usec]", "t_avg[usec]", "t_stdev[usec]",
                    "99% percentile[usec]", "99.9% percentile[usec]");
        }

        public String row() {
            return String.format(Locale.ROOT, " %-8d %-12d %-13.2f %-13.2f %-16.2f %-13.2f %-15.2f %-22.2f %.2f",
                    bytes, iterations, min, max, typical, average, stdev, p99, p999);
        }

        public String json() {
            return String.format(Locale.ROOT, "{\"test\":\"%s\",\"bytes\":%d,\"iterations\":%d,\"t_min_us\":%.3f,"
                    + "\"t_max_us\":%.3f,\"t_typical_us\":%.3f,\"t_avg_us\":%.3f,\"t_stdev_us\":%.3f,"
                    + "\"p99_us\":%.3f,\"p99_9_us\":%.3f}", test.tool(), bytes, iterations, min, max, typical,
                    average, stdev, p99, p999);
        }
    }

    private static final VarHandle LONG = MethodHandles.byteBufferViewVarHandle(long[].class,
            ByteOrder.LITTLE_ENDIAN);
    /** Completions asked for: one in every this many requests (perftest's {@code cq_mod}). */
    private static final int SIGNAL_EVERY = 16;

    private Perftest() {
    }

    /**
     * {@code ib_write_bw} or {@code ib_read_bw} on the client: {@code iterations} requests of {@code bytes}, up to
     * {@link Endpoint#DEPTH} in flight, into (or from) the server's buffer.
     */
    public static Bandwidth bandwidth(Endpoint ep, Test test, int bytes, int iterations) throws VerbsException {
        SendWorkRequest wr = new SendWorkRequest()
                .opcode(test == Test.READ_BW ? Opcode.RDMA_READ : Opcode.RDMA_WRITE)
                .remoteAddress(ep.remoteAddress).rkey(ep.remoteKey);
        wr.sgl().add(ep.mr.address(), bytes, ep.mr.lkey());
        WorkCompletion wc = new WorkCompletion();
        int posted = 0;
        int completed = 0;
        long start = System.nanoTime();
        long lastTime = start;
        int lastCompleted = 0;
        double peak = 0;
        while (completed < iterations) {
            while (posted < iterations && posted - completed < Endpoint.DEPTH - SIGNAL_EVERY) {
                boolean signal = (posted + 1) % SIGNAL_EVERY == 0 || posted + 1 == iterations;
                wr.wrId(posted + 1).sendFlags(signal ? SendFlags.SIGNALED : 0);
                ep.dev.postSend(ep.qp, wr);
                posted++;
            }
            if (!ep.dev.waitCq(ep.cq, wc, Endpoint.WAIT)) {
                throw new VerbsException(GuestDevice.ETIMEDOUT, "no completion after " + completed);
            }
            check(wc);
            completed = (int) wc.wrId();
            long now = System.nanoTime();
            // Peak over windows of at least a millisecond: shorter ones measure the timer, not the link.
            if (now - lastTime >= 1_000_000) {
                peak = Math.max(peak, (double) (completed - lastCompleted) * bytes / ((now - lastTime) / 1e9)
                        / (1 << 20));
                lastTime = now;
                lastCompleted = completed;
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double avg = (double) iterations * bytes / seconds / (1 << 20);
        return new Bandwidth(test, bytes, iterations, Math.max(peak, avg), avg, iterations / seconds / 1e6);
    }

    /**
     * {@code ib_write_lat} on one side: each side RDMA WRITEs {@code bytes} whose last 8 bytes carry the iteration
     * number into the other's buffer and polls its own buffer for the peer's; the client writes first. Both sides
     * busy-poll memory, as perftest does. The client's result is the report.
     */
    public static Latency writeLatency(Endpoint ep, boolean client, int bytes, int iterations)
            throws VerbsException {
        if (bytes < 8) {
            throw new IllegalArgumentException("write_lat needs at least 8 bytes");
        }
        ByteBuffer mem = ep.buf.buffer();
        int seqAt = bytes - 8;
        SendWorkRequest wr = new SendWorkRequest().opcode(Opcode.RDMA_WRITE)
                .remoteAddress(ep.remoteAddress).rkey(ep.remoteKey);
        wr.sgl().add(ep.mr.address() + bytes, bytes, ep.mr.lkey());
        ByteBuffer out = mem.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        WorkCompletion wc = new WorkCompletion();
        long[] samples = new long[iterations];
        for (long i = 1; i <= iterations; i++) {
            long start = System.nanoTime();
            if (client) {
                post(ep, wr, out, bytes + seqAt, i, wc);
                await(mem, seqAt, i);
            } else {
                await(mem, seqAt, i);
                post(ep, wr, out, bytes + seqAt, i, wc);
            }
            samples[(int) i - 1] = System.nanoTime() - start;
        }
        return latency(Test.WRITE_LAT, bytes, samples);
    }

    private static void post(Endpoint ep, SendWorkRequest wr, ByteBuffer out, int seqAt, long i,
                             WorkCompletion wc) throws VerbsException {
        out.putLong(seqAt, i);
        boolean signal = i % SIGNAL_EVERY == 0;
        ep.dev.postSend(ep.qp, wr.wrId(i).sendFlags(signal ? SendFlags.SIGNALED : 0));
        if (signal) {
            // Reap the send queue now and then, as perftest does with its cq_mod.
            if (!ep.dev.waitCq(ep.cq, wc, Endpoint.WAIT)) {
                throw new VerbsException(GuestDevice.ETIMEDOUT, "no completion for write " + i);
            }
            check(wc);
        }
    }

    private static void await(ByteBuffer mem, int at, long value) throws VerbsException {
        long deadline = System.nanoTime() + Endpoint.WAIT;
        for (int spins = 1; (long) LONG.getAcquire(mem, at) < value; spins++) {
            GuestDevice.spinOrYield(spins);
            if (System.nanoTime() > deadline) {
                throw new VerbsException(GuestDevice.ETIMEDOUT, "peer's write " + value + " never arrived");
            }
        }
    }

    /**
     * {@code ib_send_lat} on one side: SEND of {@code bytes} into a posted receive, answered by a SEND; each side
     * waits for its receive completion (blocking on the event channel unless the device polls).
     */
    public static Latency sendLatency(Endpoint ep, boolean client, int bytes, int iterations)
            throws VerbsException {
        SendWorkRequest send = new SendWorkRequest().opcode(Opcode.SEND);
        send.sgl().add(ep.mr.address(), bytes, ep.mr.lkey());
        RecvWorkRequest recv = new RecvWorkRequest();
        recv.sgl().add(ep.mr.address() + bytes, bytes, ep.mr.lkey());
        WorkCompletion wc = new WorkCompletion();
        for (int i = 0; i < 2; i++) {
            ep.dev.postRecv(ep.qp, recv.wrId(-1));
        }
        long[] samples = new long[iterations];
        for (int i = 0; i < iterations; i++) {
            long start = System.nanoTime();
            if (client) {
                sendOne(ep, send, i, wc);
                receiveOne(ep, recv, wc);
            } else {
                receiveOne(ep, recv, wc);
                sendOne(ep, send, i, wc);
            }
            samples[i] = System.nanoTime() - start;
        }
        return latency(Test.SEND_LAT, bytes, samples);
    }

    private static void sendOne(Endpoint ep, SendWorkRequest send, int i, WorkCompletion wc)
            throws VerbsException {
        boolean signal = (i + 1) % SIGNAL_EVERY == 0;
        ep.dev.postSend(ep.qp, send.wrId(i).sendFlags(signal ? SendFlags.SIGNALED : 0));
        if (signal) {
            awaitCompletion(ep, wc, false);
        }
    }

    private static void receiveOne(Endpoint ep, RecvWorkRequest recv, WorkCompletion wc) throws VerbsException {
        awaitCompletion(ep, wc, true);
        ep.dev.postRecv(ep.qp, recv);
    }

    private static void awaitCompletion(Endpoint ep, WorkCompletion wc, boolean receive) throws VerbsException {
        while (true) {
            if (!ep.dev.waitCq(ep.cq, wc, Endpoint.WAIT)) {
                throw new VerbsException(GuestDevice.ETIMEDOUT, "no completion");
            }
            check(wc);
            if ((wc.wrId() == -1) == receive) {
                return;
            }
        }
    }

    private static void check(WorkCompletion wc) throws VerbsException {
        if (wc.status() != WcStatus.SUCCESS) {
            throw new VerbsException(GuestDevice.EIO, "work request failed: " + wc);
        }
    }

    /** perftest's latency statistics over round-trip samples, reported as half round trips in microseconds. */
    static Latency latency(Test test, int bytes, long[] roundTrips) {
        long[] s = roundTrips.clone();
        Arrays.sort(s);
        int n = s.length;
        double sum = 0;
        for (long v : s) {
            sum += v;
        }
        double avg = sum / n;
        double var = 0;
        for (long v : s) {
            var += (v - avg) * (v - avg);
        }
        double half = 2_000.0;
        return new Latency(test, bytes, n, s[0] / half, s[n - 1] / half, s[n / 2] / half, avg / half,
                Math.sqrt(var / n) / half, s[Math.min(n - 1, (int) (n * 0.99))] / half,
                s[Math.min(n - 1, (int) (n * 0.999))] / half);
    }
}
