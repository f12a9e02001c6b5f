package io.vmrdma.engine.internal.status;

import java.util.function.ToLongFunction;

import io.vmrdma.api.Counter;
import io.vmrdma.api.FrameDrop;
import io.vmrdma.api.nic.LinkAddress;
import org.slf4j.Logger;

/**
 * Says once when the node's frame drops of one cause suddenly rise: the cause, the rate, the rate before and where
 * the last such frame came from. Sampled once a second from the data agent's duty cycle; a cause is quiet for a
 * minute after it was reported, so a flood makes one line a minute, not one per frame. A rise is a rate of at least
 * {@link #MIN_RATE} frames a second and ten times the cause's usual rate (a slow moving average of past seconds).
 */
public final class DropAlarm {

    static final long PERIOD_NANOS = 1_000_000_000L;
    static final long QUIET_NANOS = 60 * PERIOD_NANOS;
    static final long MIN_RATE = 100;
    private static final FrameDrop[] CAUSES = FrameDrop.values();
    /** The index in {@link #CAUSES} by counter ordinal, -1 for counters that are no drop cause. */
    private static final int[] CAUSE_OF_COUNTER = new int[Counter.values().length];

    static {
        java.util.Arrays.fill(CAUSE_OF_COUNTER, -1);
        for (int i = 0; i < CAUSES.length; i++) {
            CAUSE_OF_COUNTER[CAUSES[i].counter().ordinal()] = i;
        }
    }

    private final Logger log;
    private final LinkAddress[] lastSource = new LinkAddress[CAUSES.length];
    private final long[] lastCount = new long[CAUSES.length];
    private final double[] usualRate = new double[CAUSES.length];
    private final long[] reportedAt = new long[CAUSES.length];
    private long lastSampleAt;
    private boolean started;

    public DropAlarm(Logger log) {
        this.log = log;
    }

    /** Notes where a frame dropped for {@code cause} came from (the counter is counted where it always was). */
    public void dropped(Counter cause, LinkAddress source) {
        int i = CAUSE_OF_COUNTER[cause.ordinal()];
        if (i >= 0) {
            lastSource[i] = source;
        }
    }

    /** Once a period: compares each cause's count with the last sample's. Cheap when the period is not over. */
    public void sample(long nowNanos, ToLongFunction<Counter> nodeCounter) {
        long elapsed = nowNanos - lastSampleAt;
        if (started && elapsed < PERIOD_NANOS) {
            return;
        }
        for (int i = 0; i < CAUSES.length; i++) {
            long count = nodeCounter.applyAsLong(CAUSES[i].counter());
            long rate = started ? Math.round(Math.max(0, count - lastCount[i]) * 1e9 / elapsed) : 0;
            lastCount[i] = count;
            if (started && rate >= MIN_RATE && rate >= 10 * Math.max(1, usualRate[i])
                    && (reportedAt[i] == 0 || nowNanos - reportedAt[i] >= QUIET_NANOS)) {
                reportedAt[i] = nowNanos == 0 ? 1 : nowNanos;
                log.warn("frame drops rising: {} {} frames/s (usually {}/s), the last from {}; counted in "
                        + "vmrdma:status and vmrdma:stats", CAUSES[i].description(), rate,
                        Math.round(usualRate[i]), lastSource[i] == null ? "an unknown source" : lastSource[i]);
            }
            usualRate[i] += (rate - usualRate[i]) / 16;
        }
        started = true;
        lastSampleAt = nowNanos;
    }
}
