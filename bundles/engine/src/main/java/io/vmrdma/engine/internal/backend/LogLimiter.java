package io.vmrdma.engine.internal.backend;

import org.slf4j.Logger;

/** At most one warning per interval; the lines held back are counted into the next one. */
final class LogLimiter {

    private final Logger log;
    private final long intervalNanos;
    private long last = Long.MIN_VALUE / 2;
    private long suppressed;

    LogLimiter(Logger log, long intervalNanos) {
        this.log = log;
        this.intervalNanos = intervalNanos;
    }

    void warn(String format, Object... args) {
        long now = System.nanoTime();
        if (now - last < intervalNanos) {
            suppressed++;
            return;
        }
        last = now;
        if (suppressed > 0) {
            log.warn("({} similar lines suppressed)", suppressed);
            suppressed = 0;
        }
        log.warn(format, args);
    }
}
