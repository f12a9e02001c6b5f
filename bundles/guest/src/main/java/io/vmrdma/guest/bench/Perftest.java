package io.vmrdma.guest.bench;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.LongConsumer;

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

    /** Round trips nobody records. */
    private static final LongConsumer NO_RECORD = nanos -> {
    };

    /** The tests, under perftest's names. */
    public enum Test {
        WRITE_BW("ib_write_bw", "RDMA_Write BW Test"),
        READ_BW("ib_read_bw", "RDMA_Read BW Test"),
        WRITE_LAT("ib_write_lat", "RDMA_Write Latency Test"),
        SEND_LAT("ib_send_lat", "Send Latency Test");

        private final String tool;
        private final String title;

        Test(String tool, String title) {
            this.tool = tool;
            this.title = title;
        }

        public String tool() {
            return tool;
        }

        /** The title perftest prints above its table. */
        public String title() {
            return title;
        }

        /** The short name the tools take: {@code write_bw}, {@code read_bw}, {@code write_lat}, {@code send_lat}. */
        public String shortName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The test with this {@link #shortName()}. */
        public static Test of(String shortName) {
            for (Test t : values()) {
                if (t.shortName().equals(shortName)) {
                    return t;
                }
            }
            throw new IllegalArgumentException("unknown test " + shortName + ": write_bw, read_bw, write_lat or"
                    + " send_lat");
        }

        public boolean bandwidth() {
            return this == WRITE_BW || this == READ_BW;
        }

        /** The smallest message the test can use: the write latency test carries its iteration number in 8 bytes. */
        public int minimumBytes() {
            return this == WRITE_LAT ? 8 : 1;
        }

        /** perftest's {@code -a}: every power of two from 2 (8 for write_lat) to {@code maxBytes}. */
        public int[] allSizes(int maxBytes) {
            int first = this == WRITE_LAT ? 8 : 2;
            return java.util.stream.IntStream.iterate(first, b -> b <= maxBytes && b > 0, b -> b * 2).toArray();
        }
    }

    /** Told how far a test has got, from its own thread, about every {@link #PROGRESS_NANOS}. */
    @FunctionalInterface
    public interface Progress {
        /** Nothing to tell. */
        Progress NONE = fraction -> {
        };

        /** {@code fraction} of this test's iterations (or of its duration) is done, 0 to 1. */
        void done(double fraction);
    }

    /** How often a test tells its {@link Progress}: often enough for a smooth bar, rarely enough to cost nothing. */
    public static final long PROGRESS_NANOS = 100_000_000L;

    /** A bandwidth row: perftest's {@code #bytes #iterations BW peak BW average MsgRate}, in MB/s = 2^20 B/s. */
    public record Bandwidth(Test test, int bytes, long iterations, double peakMiBps, double averageMiBps,
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
    public static final int SIGNAL_EVERY = 16;
    /** The work request id of every receive the send latency test posts. */
    private static final long RECEIVE = -1;

    private Perftest() {
    }

    /**
     * {@code ib_write_bw} or {@code ib_read_bw} on the client: {@code iterations} requests of {@code bytes}, up to
     * {@link Endpoint#DEPTH} in flight, into (or from) the server's buffer.
     */
    public static Bandwidth bandwidth(Endpoint ep, Test test, int bytes, int iterations) throws VerbsException {
        return bandwidth(ep, test, bytes, iterations, 0, Progress.NONE);
    }

    /**
     * As {@link #bandwidth(Endpoint, Test, int, int)}; with {@code durationNanos} above 0 it runs for that long
     * instead of {@code iterations} (perftest's {@code -D}) and reports how many requests completed.
     */
    public static Bandwidth bandwidth(Endpoint ep, Test test, int bytes, long iterations, long durationNanos,
                                      Progress progress)
            throws VerbsException {
        return bandwidth(List.of(ep), test, bytes, iterations, durationNanos, progress);
    }

    /**
     * perftest's {@code -q}: the test over several connections to the server at once, {@code iterations} requests
     * (or {@code durationNanos}) on each, up to {@link Endpoint#DEPTH} less {@link #SIGNAL_EVERY} in flight on each
     * (room for the signalled request that reports them); the row counts the requests
     * of all of them.
     */
    public static Bandwidth bandwidth(List<Endpoint> eps, Test test, int bytes, long iterations, long durationNanos,
                                      Progress progress)
            throws VerbsException {
        int q = eps.size();
        SendWorkRequest[] wrs = new SendWorkRequest[q];
        boolean timed = durationNanos > 0;
        long[] limit = new long[q];
        long[] posted = new long[q];
        long[] completed = new long[q];
        for (int i = 0; i < q; i++) {
            Endpoint ep = eps.get(i);
            checkSize(ep, test, bytes);
            wrs[i] = new SendWorkRequest().opcode(test == Test.READ_BW ? Opcode.RDMA_READ : Opcode.RDMA_WRITE)
                    .remoteAddress(ep.remoteAddress).rkey(ep.remoteKey);
            wrs[i].sgl().add(ep.mr.address() + ep.half(), bytes, ep.mr.lkey());
            limit[i] = timed ? Long.MAX_VALUE : iterations;
        }
        WorkCompletion wc = new WorkCompletion();
        long start = System.nanoTime();
        long stop = start + durationNanos;
        long lastTime = start;
        long lastCompleted = 0;
        long lastProgress = start;
        double peak = 0;
        while (true) {
            boolean finished = true;
            for (int i = 0; i < q; i++) {
                Endpoint ep = eps.get(i);
                while (posted[i] < limit[i] && posted[i] - completed[i] < Endpoint.DEPTH - SIGNAL_EVERY) {
                    // -D: stop at a signaled request, so the last one posted completes visibly.
                    if (timed && posted[i] % SIGNAL_EVERY == 0 && posted[i] > 0 && System.nanoTime() >= stop) {
                        limit[i] = posted[i];
                        break;
                    }
                    boolean signal = (posted[i] + 1) % SIGNAL_EVERY == 0 || posted[i] + 1 == limit[i];
                    wrs[i].wrId(posted[i] + 1).sendFlags(signal ? SendFlags.SIGNALED : 0);
                    ep.dev.postSend(ep.qp, wrs[i]);
                    posted[i]++;
                }
                finished &= completed[i] >= limit[i];
            }
            if (finished) {
                break;
            }
            reap(eps, posted, completed, wc);
            long done = 0;
            for (long c : completed) {
                done += c;
            }
            long now = System.nanoTime();
            // Peak over windows of at least a millisecond: shorter ones measure the timer, not the link.
            if (now - lastTime >= 1_000_000) {
                peak = Math.max(peak, (double) (done - lastCompleted) * bytes / ((now - lastTime) / 1e9) / (1 << 20));
                lastTime = now;
                lastCompleted = done;
            }
            if (now - lastProgress >= PROGRESS_NANOS) {
                progress.done(timed ? Math.min(1, (double) (now - start) / durationNanos)
                        : (double) done / ((double) iterations * q));
                lastProgress = now;
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long total = 0;
        for (long l : limit) {
            total += l;
        }
        double avg = (double) total * bytes / seconds / (1 << 20);
        return new Bandwidth(test, bytes, total, Math.max(peak, avg), avg, total / seconds / 1e6);
    }

    /**
     * Takes every completion already there on any of the endpoints; when there is none, waits on the endpoint with
     * the most requests outstanding (its completion must come), as the one-connection test always did.
     */
    private static void reap(List<Endpoint> eps, long[] posted, long[] completed, WorkCompletion wc)
            throws VerbsException {
        boolean any = false;
        int busiest = 0;
        long most = -1;
        for (int i = 0; i < eps.size(); i++) {
            Endpoint ep = eps.get(i);
            while (ep.dev.pollCq(ep.cq, wc)) {
                check(wc);
                completed[i] = wc.wrId();
                any = true;
            }
        }
        if (any) {
            return;
        }
        for (int i = 0; i < eps.size(); i++) {
            long outstanding = posted[i] - completed[i];
            if (outstanding > most) {
                most = outstanding;
                busiest = i;
            }
        }
        Endpoint ep = eps.get(busiest);
        if (!ep.dev.waitCq(ep.cq, wc, Endpoint.WAIT)) {
            throw new VerbsException(GuestDevice.ETIMEDOUT, "no completion after " + completed[busiest]);
        }
        check(wc);
        completed[busiest] = wc.wrId();
    }

    /**
     * {@code ib_write_lat} on one side: each side RDMA WRITEs {@code bytes} whose last 8 bytes carry the iteration
     * number into the other's buffer and polls its own buffer for the peer's; the client writes first. Both sides
     * busy-poll memory, as perftest does. The client's result is the report. Iteration numbers count on across
     * calls on one endpoint (perftest's {@code -a}), so a number left from a smaller size never passes for a new one.
     */
    public static Latency writeLatency(Endpoint ep, boolean client, int bytes, int iterations)
            throws VerbsException {
        return writeLatency(ep, client, bytes, iterations, Progress.NONE);
    }

    /** As {@link #writeLatency(Endpoint, boolean, int, int)}, telling {@code progress} how far it got. */
    public static Latency writeLatency(Endpoint ep, boolean client, int bytes, int iterations, Progress progress)
            throws VerbsException {
        return writeLatency(ep, client, bytes, iterations, progress, NO_RECORD);
    }

    /**
     * As {@link #writeLatency(Endpoint, boolean, int, int, Progress)}, handing each whole round trip's nanoseconds
     * to {@code roundTrips} as well (a histogram, for a benchmark's own percentiles). Since 0.3.0.
     */
    public static Latency writeLatency(Endpoint ep, boolean client, int bytes, int iterations, Progress progress,
                                       LongConsumer roundTrips)
            throws VerbsException {
        checkSize(ep, Test.WRITE_LAT, bytes);
        ByteBuffer mem = ep.buf.buffer();
        int seqAt = bytes - 8;
        int sendAt = ep.half();
        SendWorkRequest wr = new SendWorkRequest().opcode(Opcode.RDMA_WRITE)
                .remoteAddress(ep.remoteAddress).rkey(ep.remoteKey);
        wr.sgl().add(ep.mr.address() + sendAt, bytes, ep.mr.lkey());
        ByteBuffer out = mem.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        WorkCompletion wc = new WorkCompletion();
        long[] samples = new long[iterations];
        long lastProgress = System.nanoTime();
        for (int i = 0; i < iterations; i++) {
            long n = ++ep.sequence;
            long start = System.nanoTime();
            if (client) {
                post(ep, wr, out, sendAt + seqAt, n, wc);
                await(mem, seqAt, n);
            } else {
                await(mem, seqAt, n);
                post(ep, wr, out, sendAt + seqAt, n, wc);
            }
            samples[i] = System.nanoTime() - start;
            roundTrips.accept(samples[i]);
            lastProgress = tell(progress, start, lastProgress, i, iterations);
        }
        return latency(Test.WRITE_LAT, bytes, samples);
    }

    private static void post(Endpoint ep, SendWorkRequest wr, ByteBuffer out, int seqAt, long i,
                             WorkCompletion wc)
            throws VerbsException {
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
            // The clock costs as much as a look at memory: read it every 1024th turn.
            if ((spins & 1023) == 0 && System.nanoTime() > deadline) {
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
        return sendLatency(ep, client, bytes, iterations, Progress.NONE);
    }

    /**
     * As {@link #sendLatency(Endpoint, boolean, int, int)}, telling {@code progress} how far it got. The first call
     * on an endpoint posts two receives of half its buffer, so later calls with other sizes ({@code -a}) reuse them.
     */
    public static Latency sendLatency(Endpoint ep, boolean client, int bytes, int iterations, Progress progress)
            throws VerbsException {
        return sendLatency(ep, client, bytes, iterations, progress, NO_RECORD);
    }

    /**
     * As {@link #sendLatency(Endpoint, boolean, int, int, Progress)}, handing each whole round trip's nanoseconds to
     * {@code roundTrips} as well. Since 0.3.0.
     */
    public static Latency sendLatency(Endpoint ep, boolean client, int bytes, int iterations, Progress progress,
                                      LongConsumer roundTrips)
            throws VerbsException {
        checkSize(ep, Test.SEND_LAT, bytes);
        SendWorkRequest send = new SendWorkRequest().opcode(Opcode.SEND);
        send.sgl().add(ep.mr.address() + ep.half(), bytes, ep.mr.lkey());
        RecvWorkRequest recv = new RecvWorkRequest().wrId(RECEIVE);
        recv.sgl().add(ep.mr.address(), ep.half(), ep.mr.lkey());
        if (!ep.receivesPosted) {
            for (int i = 0; i < 2; i++) {
                ep.dev.postRecv(ep.qp, recv);
            }
            ep.receivesPosted = true;
        }
        WorkCompletion wc = new WorkCompletion();
        // Receives that completed while this side waited for one of its sends to complete: the peer may answer
        // before the acknowledgement of the SEND it answers reaches this side.
        int early = 0;
        long[] samples = new long[iterations];
        long lastProgress = System.nanoTime();
        for (int i = 0; i < iterations; i++) {
            long start = System.nanoTime();
            for (int turn = 0; turn < 2; turn++) {
                if ((turn == 0) == client) {
                    boolean signal = (i + 1) % SIGNAL_EVERY == 0;
                    ep.dev.postSend(ep.qp, send.wrId(i).sendFlags(signal ? SendFlags.SIGNALED : 0));
                    while (signal && nextIsReceive(ep, recv, bytes, wc)) {
                        early++;
                    }
                } else if (early > 0) {
                    early--;
                } else {
                    while (!nextIsReceive(ep, recv, bytes, wc)) {
                        // a send's completion: nothing to do
                    }
                }
            }
            samples[i] = System.nanoTime() - start;
            roundTrips.accept(samples[i]);
            lastProgress = tell(progress, start, lastProgress, i, iterations);
        }
        return latency(Test.SEND_LAT, bytes, samples);
    }

    /** Waits for the next completion; a receive is checked and posted again. True for a receive. */
    private static boolean nextIsReceive(Endpoint ep, RecvWorkRequest recv, int bytes, WorkCompletion wc)
            throws VerbsException {
        if (!ep.dev.waitCq(ep.cq, wc, Endpoint.WAIT)) {
            throw new VerbsException(GuestDevice.ETIMEDOUT, "no completion");
        }
        check(wc);
        if (wc.wrId() != RECEIVE) {
            return false;
        }
        if (wc.byteLength() != bytes) {
            throw new VerbsException(GuestDevice.EIO, "received " + wc.byteLength() + " bytes, expected " + bytes);
        }
        ep.dev.postRecv(ep.qp, recv);
        return true;
    }

    private static long tell(Progress progress, long now, long lastProgress, int i, int iterations) {
        if (now - lastProgress < PROGRESS_NANOS) {
            return lastProgress;
        }
        progress.done((double) (i + 1) / iterations);
        return now;
    }

    private static void checkSize(Endpoint ep, Test test, int bytes) {
        if (bytes < test.minimumBytes() || bytes > ep.half()) {
            throw new IllegalArgumentException(test.shortName() + " of " + bytes + " bytes: this endpoint takes "
                    + test.minimumBytes() + " to " + ep.half() + " (half its buffer)");
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
