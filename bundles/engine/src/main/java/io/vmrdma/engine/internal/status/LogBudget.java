package io.vmrdma.engine.internal.status;

import java.util.function.LongSupplier;

import org.slf4j.Logger;

/**
 * A budget of log lines per period for what can repeat as fast as something outside the engine makes it happen: HELLOs
 * from made-up nodes (peers appear, come up, move, are forgotten), a guest whose ring or event channel keeps failing.
 * Within the budget a line is logged; past it, it is only counted, and the count is logged once when the period is
 * over (by {@link #tick} or the next line), so the log says that something was left out and how much.
 */
public final class LogBudget {

    private final Logger log;
    private final String what;
    private final int linesPerPeriod;
    private final long periodNanos;
    private final LongSupplier clock;
    private long periodStart;
    private boolean started;
    private int lines;
    private long suppressed;

    /**
     * @param what  the kind of line, for the summary ({@code "peer table changes"})
     * @param clock nanoseconds, the engine's clock
     */
    public LogBudget(Logger log, String what, int linesPerPeriod, long periodNanos, LongSupplier clock) {
        this.log = log;
        this.what = what;
        this.linesPerPeriod = linesPerPeriod;
        this.periodNanos = periodNanos;
        this.clock = clock;
    }

    public void info(String format, Object... arguments) {
        if (admit()) {
            log.info(format, arguments);
        }
    }

    public void warn(String format, Object... arguments) {
        if (admit()) {
            log.warn(format, arguments);
        }
    }

    /** Ends the period when it is over, logging how many lines it left out. */
    public void tick() {
        tick(clock.getAsLong());
    }

    private void tick(long nowNanos) {
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

    private boolean admit() {
        long nowNanos = clock.getAsLong();
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
