package io.vmrdma.shell.internal;

import java.util.Locale;

/** Numbers as operators read them: binary byte units, MiB/s, operations per second, microseconds. */
final class Units {

    private static final String[] BYTE_UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};

    private Units() {
    }

    /** {@code 512 B}, {@code 4.0 KiB}, {@code 1.5 GiB}: three significant digits at most above bytes. */
    static String bytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, value < 10 ? "%.2f %s" : value < 100 ? "%.1f %s" : "%.0f %s", value,
                BYTE_UNITS[unit]);
    }

    /** A byte rate in MiB/s, which is how perftest and iperf users compare numbers. */
    static String mibPerSecond(double bytesPerSecond) {
        double mib = bytesPerSecond / (1024 * 1024);
        return String.format(Locale.ROOT, mib < 10 ? "%.2f" : mib < 100 ? "%.1f" : "%.0f", mib);
    }

    /** Events per second, whole above ten. */
    static String perSecond(double rate) {
        return String.format(Locale.ROOT, rate < 10 && rate != 0 ? "%.1f" : "%.0f", rate);
    }

    /** Microseconds with one decimal below 100 µs, whole above; {@code -} when not measured (negative). */
    static String micros(long nanos) {
        if (nanos < 0) {
            return "-";
        }
        if (nanos < 100_000) {
            return String.format(Locale.ROOT, "%.1f", nanos / 1000.0);
        }
        return Long.toString(Math.round(nanos / 1000.0));
    }

    /** Milliseconds with one decimal, and the unit: a pause as an operator reads it. */
    static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.1f ms", nanos / 1e6);
    }

    /** {@code 0x}-prefixed hexadecimal of a 32-bit key, as verbs tools print keys. */
    static String hex(int value) {
        return "0x" + Integer.toHexString(value);
    }
}
