package io.vmrdma.engine.internal.verbs;

import org.slf4j.Logger;

/**
 * A budget of log lines per period for what untrusted frames can cause: HELLOs from made-up nodes make peers appear,
 * come up, move and be forgotten as fast as an attacker sends them, and each would be a line. Within the budget a
 * line is logged; past it, it is only counted, and the count is logged once when the period is over (by
 * {@link #tick} or the next line), so the log says that something was left out and how much.
 */
final class LogBudget {

    private final Logger log;
    private final String what;
    private final int linesPerPeriod;
    private final long periodNanos;
    private long periodStart;
    private boolean started;
    private int lines;
    private long suppressed;

    /**
     * @param what the kind of line, for the summary ({@code "peer table changes"})
     */
    LogBudget(Logger log, String what, int linesPerPeriod, long periodNanos) {
        this.log = log;
        this.what = what;
        this.linesPerPeriod = linesPerPeriod;
        this.periodNanos = periodNanos;
    }

    void info(long nowNanos, String format, Object... arguments) {
        if (admit(nowNanos)) {
            log.info(format, arguments);
        }
    }

    void warn(long nowNanos, String format, Object... arguments) {
        if (admit(nowNanos)) {
            log.warn(format, arguments);
        }
    }

    /** Ends the period when it is over, logging how many lines it left out. */
    void tick(long nowNanos) {
        if (started && nowNanos - periodStart >= periodNanos) {
            if (suppressed > 0) {
                log.warn("{} more {} in the last {} s were not logged", suppressed, what,
                        (nowNanos - periodStart) / 1_000_000_000L);
            }
            periodStart = nowNanos;
            lines = 0;
            suppressed = 0;
        }
    }

    private boolean admit(long nowNanos) {
        if (!started) {
            started = true;
            periodStart = nowNanos;
        }
        tick(nowNanos);
        if (lines < linesPerPeriod) {
            lines++;
            return true;
        }
        suppressed++;
        return false;
    }
}
