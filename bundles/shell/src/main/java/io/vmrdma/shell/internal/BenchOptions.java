package io.vmrdma.shell.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks {@code vmrdma:bench}'s options before any guest boots, so a typo is refused with what is accepted, and
 * turns them into the guest tool's {@code bench run} arguments. The limits are the benchmark guest's own
 * ({@code io.vmrdma.guest.internal.BenchSpec}), which checks them again.
 */
final class BenchOptions {

    static final List<String> TESTS = List.of("write_bw", "read_bw", "write_lat", "send_lat");
    /** A guest shares at most 1024 pages at once (gntalloc's limit) and its buffer is twice the message. */
    static final int MAX_BYTES = 1 << 20;
    static final long MAX_BW_ITERATIONS = 100_000_000L;
    static final long MAX_LAT_ITERATIONS = 1_000_000L;
    static final int MAX_SECONDS = 3600;
    static final int MAX_QUEUE_PAIRS = 16;
    /** perftest's default TCP port, here the connection manager's service id. */
    static final long DEFAULT_SERVICE = 18515;
    static final long DEFAULT_IDLE_SECONDS = 600;

    private static final Pattern SIZE = Pattern.compile("(\\d{1,10})\\s*(?:([kKmM])i?)?[bB]?");

    final String test;
    final List<String> guestArguments = new ArrayList<>();
    final long service;

    private BenchOptions(String test, long service) {
        this.test = test;
        this.service = service;
    }

    /** The client's options; IllegalArgumentException saying what is accepted. */
    static BenchOptions check(String test, String size, boolean all, String maxSize, String iterations,
                              String duration, String queuePairs, String port) {
        String name = test == null ? "write_bw" : test.toLowerCase(Locale.ROOT);
        if (!TESTS.contains(name)) {
            throw new IllegalArgumentException("unknown test " + test + ": write_bw, read_bw, write_lat or send_lat"
                    + " (perftest's ib_write_bw, ib_read_bw, ib_write_lat, ib_send_lat)");
        }
        boolean bandwidth = name.endsWith("_bw");
        int min = name.equals("write_lat") ? 8 : 1;
        BenchOptions o = new BenchOptions(name, service(port));
        int largest;
        if (all) {
            if (size != null) {
                throw new IllegalArgumentException("-s and -a exclude each other: -a runs every power of two up to"
                        + " -m");
            }
            // -a starts at 2 B (8 B for write_lat): a smaller -m would leave no size at all.
            largest = bytes("-m", maxSize, Math.max(min, 2), MAX_BYTES, MAX_BYTES);
            o.guestArguments.addAll(List.of("-a", "-m", Integer.toString(largest)));
        } else {
            if (maxSize != null) {
                throw new IllegalArgumentException("-m sets the largest size of -a; without -a give the size with -s");
            }
            largest = bytes("-s", size, min, MAX_BYTES, bandwidth ? 65536 : 8);
            o.guestArguments.addAll(List.of("-s", Integer.toString(largest)));
        }
        if (duration != null) {
            if (iterations != null) {
                throw new IllegalArgumentException("-n and -D exclude each other: count iterations or run for seconds");
            }
            if (!bandwidth) {
                throw new IllegalArgumentException("-D is for the bandwidth tests (write_bw, read_bw); latency tests"
                        + " count iterations (-n)");
            }
            o.guestArguments.addAll(List.of("-D", Long.toString(whole("-D", duration, 1, MAX_SECONDS, "seconds"))));
        } else if (iterations != null) {
            long max = bandwidth ? MAX_BW_ITERATIONS : MAX_LAT_ITERATIONS;
            o.guestArguments.addAll(List.of("-n", Long.toString(whole("-n", iterations, 1, max, "iterations"))));
        }
        if (queuePairs != null) {
            long q = whole("-q", queuePairs, 1, MAX_QUEUE_PAIRS, "queue pairs");
            if (q > 1 && !bandwidth) {
                throw new IllegalArgumentException("-q is for the bandwidth tests (write_bw, read_bw); latency tests"
                        + " use one queue pair");
            }
            // Each queue pair has a buffer of twice the largest message in both guests; together they stay within
            // what one queue pair of the largest size needs.
            long shared = q * 2L * Math.max(largest, 4096);
            if (shared > 2L * MAX_BYTES) {
                throw new IllegalArgumentException("-q " + q + " with " + Units.bytes(largest) + " messages needs "
                        + Units.bytes(shared) + " of buffers in each guest, which shares at most "
                        + Units.bytes(2L * MAX_BYTES) + ": lower -q or the size");
            }
            o.guestArguments.addAll(List.of("-q", Long.toString(q)));
        }
        return o;
    }

    /** The service a bench server listens on: -p, else perftest's 18515. */
    static long service(String port) {
        return port == null ? DEFAULT_SERVICE : whole("-p", port, 1, Long.MAX_VALUE, "a service id");
    }

    /** How long a bench server waits without a client before it stops. */
    static long idleSeconds(String text) {
        return text == null ? DEFAULT_IDLE_SECONDS : whole("--idle", text, 10, 86_400, "seconds");
    }

    /** A message size: bytes, or with K (1024) or M (1024²), optionally Ki/Mi and B: 64k, 1m, 4096, 64KiB. */
    static int bytes(String option, String text, int min, int max, int absent) {
        if (text == null) {
            return absent;
        }
        Matcher m = SIZE.matcher(text.trim());
        long value = -1;
        if (m.matches()) {
            value = Long.parseLong(m.group(1));
            if (m.group(2) != null) {
                value <<= m.group(2).equalsIgnoreCase("k") ? 10 : 20;
            }
        }
        if (value < min || value > max) {
            throw new IllegalArgumentException(option + " takes a message size of " + Units.bytes(min) + " to "
                    + Units.bytes(max) + ", such as 4096, 64k or 1m (K and M are 1024 and 1024²), not " + text);
        }
        return (int) value;
    }

    private static long whole(String option, String text, long min, long max, String what) {
        long value;
        try {
            value = Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            value = min - 1;
        }
        if (value < min || value > max) {
            throw new IllegalArgumentException(option + " takes " + what + " from " + min + " to " + max + ", not "
                    + text);
        }
        return value;
    }
}
