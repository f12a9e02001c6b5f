package io.vmrdma.engine.internal.congestion;

/**
 * Round trips of data packets to one peer: smoothed (7/8 old + 1/8 new, as the retransmission timer smooths them)
 * and the lowest of the last {@link #BASE_EPOCH_NANOS} to twice that, the round trip with no queue on the path.
 * The lowest is kept per epoch and the previous epoch's counts too, so a path that got longer (a route change, a
 * peer that moved) is believed within two epochs while one quiet moment is not forgotten at once.
 */
final class RoundTrips {

    static final long BASE_EPOCH_NANOS = 5_000_000_000L;

    private volatile long smoothedNanos = -1;
    private long lowestThisEpoch = Long.MAX_VALUE;
    private long lowestLastEpoch = Long.MAX_VALUE;
    private long epochEndsNanos;
    private boolean started;

    void sample(long nowNanos, long sampleNanos) {
        long rtt = Math.max(1, sampleNanos);
        long smoothed = smoothedNanos;
        smoothedNanos = smoothed < 0 ? rtt : smoothed + (rtt - smoothed) / 8;
        if (!started || nowNanos - epochEndsNanos >= 0) {
            lowestLastEpoch = started ? lowestThisEpoch : Long.MAX_VALUE;
            lowestThisEpoch = Long.MAX_VALUE;
            epochEndsNanos = nowNanos + BASE_EPOCH_NANOS;
            started = true;
        }
        lowestThisEpoch = Math.min(lowestThisEpoch, rtt);
    }

    /** The smoothed round trip, -1 before the first sample. */
    long smoothedNanos() {
        return smoothedNanos;
    }

    /** The lowest round trip of this epoch and the last, -1 before the first sample. */
    long baseNanos() {
        long base = Math.min(lowestThisEpoch, lowestLastEpoch);
        return base == Long.MAX_VALUE ? -1 : base;
    }
}
