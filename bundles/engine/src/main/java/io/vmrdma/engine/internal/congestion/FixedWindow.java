package io.vmrdma.engine.internal.congestion;

/**
 * No congestion control: the window never moves. What a peer had before congestion control, and what a fabric
 * without shared bottlenecks (two hosts on one link) needs.
 */
final class FixedWindow implements CongestionControl {

    private final long window;
    /** Measured all the same, so the console shows the round trip with congestion control off too. */
    private final RoundTrips roundTrips = new RoundTrips();
    private volatile long losses;

    FixedWindow(long window) {
        this.window = window;
    }

    @Override
    public String name() {
        return CongestionSettings.OFF;
    }

    @Override
    public long windowBytes() {
        return window;
    }

    @Override
    public void onAck(long nowNanos, long rttSampleNanos, long ackedBytes, long inFlightBytes,
                      boolean receiverPressure) {
        if (rttSampleNanos >= 0) {
            roundTrips.sample(rttSampleNanos);
        }
    }

    @Override
    public void onLoss(long nowNanos) {
        // Counted for the console only, so the rows with and without congestion control compare.
        losses = losses + 1;
    }

    @Override
    public long rttNanos() {
        return roundTrips.smoothedNanos();
    }

    @Override
    public long rttTargetNanos() {
        return -1;
    }

    @Override
    public long losses() {
        return losses;
    }
}
