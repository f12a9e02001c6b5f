package io.vmrdma.guest.internal;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import io.vmrdma.guest.bench.Endpoint;
import io.vmrdma.guest.bench.Perftest;

/**
 * What a benchmark client asks its server for, as perftest's options: the test, its message sizes ({@code -s}, or
 * every power of two up to {@code -m} with {@code -a}), iterations per size ({@code -n}) or seconds per size
 * ({@code -D}, bandwidth tests only), and how many connections at once ({@code -q}, bandwidth tests only). The client sends it after its key in the connect's private data, so a server
 * that serves client after client knows how large a buffer to accept with and which sizes to answer.
 */
record BenchSpec(Perftest.Test test, int[] sizes, long iterations, int durationSeconds, int queuePairs) {

    /** The largest message: a guest shares at most gntalloc's 1024 pages at once, and the buffer is twice this. */
    static final int MAX_BYTES = 1 << 20;
    static final long MAX_ITERATIONS = 100_000_000L;
    /** The latency tests keep every sample: 8 bytes each in a guest JVM of 64 MiB. */
    static final int MAX_LATENCY_ITERATIONS = 1_000_000;
    static final int MAX_SECONDS = 3600;
    /** Connections of one -q test; their buffers together stay within what one of 1 MiB needs (2 MiB). */
    static final int MAX_QUEUE_PAIRS = 16;
    private static final byte VERSION = 2;
    static final int ENCODED_BYTES = 1 + 1 + 4 + 4 + 8 + 4 + 1;

    BenchSpec {
        if (sizes.length == 0) {
            throw new IllegalArgumentException("no message size");
        }
        for (int size : sizes) {
            if (size < test.minimumBytes() || size > MAX_BYTES) {
                throw new IllegalArgumentException(test.shortName() + " takes messages of " + test.minimumBytes()
                        + " to " + MAX_BYTES + " bytes, not " + size);
            }
        }
        long maxIterations = test.bandwidth() ? MAX_ITERATIONS : MAX_LATENCY_ITERATIONS;
        if (durationSeconds == 0 && (iterations < 1 || iterations > maxIterations)) {
            throw new IllegalArgumentException(test.shortName() + " takes 1 to " + maxIterations
                    + " iterations, not " + iterations);
        }
        if (durationSeconds < 0 || durationSeconds > MAX_SECONDS || durationSeconds > 0 && !test.bandwidth()) {
            throw new IllegalArgumentException("-D takes 1 to " + MAX_SECONDS
                    + " seconds and is for the bandwidth tests (latency tests count iterations)");
        }
        if (queuePairs < 1 || queuePairs > MAX_QUEUE_PAIRS || queuePairs > 1 && !test.bandwidth()) {
            throw new IllegalArgumentException("-q takes 1 to " + MAX_QUEUE_PAIRS
                    + " queue pairs and is for the bandwidth tests (latency tests use one)");
        }
        long shared = (long) queuePairs * bufferBytes(sizes);
        if (shared > 2L * MAX_BYTES) {
            throw new IllegalArgumentException("-q " + queuePairs + " needs " + (shared >> 10) + " KiB of buffers in"
                    + " each guest, which shares at most " + (2 * MAX_BYTES >> 10) + " KiB: lower -q or the size");
        }
    }

    /**
     * Parses the guest tool's arguments after the test name, as perftest's: {@code -s BYTES}, {@code -a},
     * {@code -m BYTES}, {@code -n ITERATIONS}, {@code -D SECONDS}, {@code -q QUEUE_PAIRS}; defaults 65536 bytes and 5000 iterations for the
     * bandwidth tests, 8 bytes and 1000 iterations for the latency tests, {@code -m} 1 MiB.
     */
    static BenchSpec parse(String testName, String... options) {
        Perftest.Test test = Perftest.Test.of(testName);
        int size = test.bandwidth() ? 65536 : 8;
        int max = MAX_BYTES;
        boolean all = false;
        long iterations = test.bandwidth() ? 5000 : 1000;
        int seconds = 0;
        int queuePairs = 1;
        for (int i = 0; i < options.length; i++) {
            switch (options[i]) {
                case "-a" -> all = true;
                case "-s" -> size = Integer.parseInt(value(options, ++i));
                case "-m" -> max = Integer.parseInt(value(options, ++i));
                case "-n" -> iterations = Long.parseLong(value(options, ++i));
                case "-D" -> seconds = Integer.parseInt(value(options, ++i));
                case "-q" -> queuePairs = Integer.parseInt(value(options, ++i));
                default -> throw new IllegalArgumentException("unknown option " + options[i]
                        + ": -s BYTES, -a, -m BYTES, -n ITERATIONS, -D SECONDS, -q QUEUE_PAIRS");
            }
        }
        return new BenchSpec(test, all ? test.allSizes(max) : new int[] {size}, iterations, seconds, queuePairs);
    }

    private static String value(String[] options, int i) {
        if (i >= options.length) {
            throw new IllegalArgumentException(options[i - 1] + " needs a value");
        }
        return options[i];
    }

    /** The buffer each side registers per queue pair: twice the largest message (at least a page each half). */
    /**
     * The longest a client of this spec may keep the server before it must have disconnected: its -D seconds per
     * size, or for an iteration count the longest -D allows per size, plus a minute for connecting and ending.
     */
    long allowedNanos() {
        long perSize = durationSeconds > 0 ? durationSeconds : MAX_SECONDS;
        return TimeUnit.SECONDS.toNanos(perSize * sizes.length + 60);
    }

    int bufferBytes() {
        return bufferBytes(sizes);
    }

    private static int bufferBytes(int[] sizes) {
        return 2 * Math.max(Arrays.stream(sizes).max().orElseThrow(), 4096);
    }

    /** Version, test, first and last size, whether every power of two between, iterations, seconds, queue pairs. */
    byte[] encode() {
        boolean all = sizes.length > 1;
        return ByteBuffer.allocate(ENCODED_BYTES).put(VERSION).put((byte) test.ordinal()).putInt(sizes[0])
                .putInt(sizes[sizes.length - 1] | (all ? Integer.MIN_VALUE : 0)).putLong(iterations)
                .putInt(durationSeconds).put((byte) queuePairs).array();
    }

    /** The request {@link #encode()} made; IllegalArgumentException for anything else. */
    static BenchSpec decode(byte[] request) {
        if (request.length < ENCODED_BYTES || request[0] != VERSION) {
            throw new IllegalArgumentException("not a version " + VERSION + " benchmark request ("
                    + request.length + " bytes)");
        }
        ByteBuffer b = ByteBuffer.wrap(request, 1, ENCODED_BYTES - 1);
        int ordinal = b.get();
        if (ordinal < 0 || ordinal >= Perftest.Test.values().length) {
            throw new IllegalArgumentException("unknown test " + ordinal);
        }
        Perftest.Test test = Perftest.Test.values()[ordinal];
        int first = b.getInt();
        int last = b.getInt();
        boolean all = last < 0;
        int[] sizes = all ? test.allSizes(last & Integer.MAX_VALUE) : new int[] {first};
        if (all && (sizes.length == 0 || sizes[0] != first)) {
            throw new IllegalArgumentException("-a sizes from " + first + " do not match " + test.shortName());
        }
        return new BenchSpec(test, sizes, b.getLong(), b.getInt(), b.get());
    }

    /** perftest's mode line: queue depth and completion moderation for bandwidth, and what each size runs for. */
    String mode() {
        String each = durationSeconds > 0 ? "Duration mode, " + durationSeconds + " s per size"
                : "Iterations mode, " + iterations + " per size";
        return test.bandwidth() ? "TX depth : " + Endpoint.DEPTH + "   CQ moderation : " + Perftest.SIGNAL_EVERY
                + (queuePairs > 1 ? "   Number of qps : " + queuePairs : "") + "   " + each : each;
    }
}
