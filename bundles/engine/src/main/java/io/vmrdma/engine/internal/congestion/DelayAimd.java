package io.vmrdma.engine.internal.congestion;

/**
 * Delay-based additive increase, multiplicative decrease, once per round trip. A round ends one smoothed round trip
 * after it began; then the lowest round trip sampled in it decides (the lowest, so a single acknowledgement that
 * waited for a core does not count as a queue):
 * <ul>
 * <li>above the target ({@link #rttTargetNanos}), or a receiver that asked to back off: the
 * window shrinks by β × (sample − target) / sample, at most by half;</li>
 * <li>otherwise it grows by the configured increase.</li>
 * </ul>
 * A loss halves the window at once, at most once per round, and that round then neither grows nor shrinks it again.
 * The window stays within the floor and the ceiling of {@link CongestionSettings}: at the floor every flow still
 * sends, so no signal can stop one for good.
 */
final class DelayAimd implements CongestionControl {

    private final long minWindow;
    private final long maxWindow;
    private final long targetRttNanos;
    private final long increaseBytes;
    private final int decreasePercent;
    private final RoundTrips roundTrips = new RoundTrips();

    private volatile long window;
    private volatile long losses;
    /** When the round in progress ends, if {@link #roundStarted}. */
    private long roundEndsNanos;
    private boolean roundStarted;
    private long roundLowestRtt = Long.MAX_VALUE;
    private boolean roundPressure;
    private boolean roundLoss;

    DelayAimd(CongestionSettings settings) {
        this.minWindow = settings.minWindow();
        this.maxWindow = settings.maxWindow();
        this.targetRttNanos = settings.targetRttNanos();
        this.increaseBytes = settings.increaseBytes();
        this.decreasePercent = settings.decreasePercent();
        this.window = settings.initialWindow();
    }

    @Override
    public String name() {
        return CongestionSettings.DELAY;
    }

    @Override
    public long windowBytes() {
        return window;
    }

    @Override
    public void onAck(long nowNanos, long rttSampleNanos, long ackedBytes, boolean receiverPressure) {
        if (roundStarted && nowNanos - roundEndsNanos >= 0) {
            endRound();
        }
        if (rttSampleNanos >= 0) {
            roundTrips.sample(nowNanos, rttSampleNanos);
            roundLowestRtt = Math.min(roundLowestRtt, Math.max(1, rttSampleNanos));
        }
        roundPressure |= receiverPressure;
        if (!roundStarted && roundTrips.smoothedNanos() >= 0) {
            // A round lasts one smoothed round trip: the first starts with the first sample.
            roundStarted = true;
            roundEndsNanos = nowNanos + roundTrips.smoothedNanos();
        }
    }

    @Override
    public void onLoss(long nowNanos) {
        losses = losses + 1;
        if (!roundLoss) {
            roundLoss = true;
            resize(window / 2);
        }
    }

    /** The round's verdict (a loss halved the window already), then a fresh round: the next sample starts it. */
    private void endRound() {
        if (!roundLoss) {
            followDelay();
        }
        roundStarted = false;
        roundLowestRtt = Long.MAX_VALUE;
        roundPressure = false;
        roundLoss = false;
    }

    private void followDelay() {
        long target = rttTargetNanos();
        if (roundPressure) {
            // As a round trip of twice the target: the receiver drops before the delay shows it.
            resize(window - window * decreasePercent / 200);
        } else if (roundLowestRtt != Long.MAX_VALUE && roundLowestRtt > target) {
            long excess = roundLowestRtt - target;
            long cut = (long) (window * (decreasePercent / 100.0) * excess / roundLowestRtt);
            resize(window - Math.min(cut, window / 2));
        } else if (roundLowestRtt != Long.MAX_VALUE) {
            resize(window + increaseBytes);
        }
    }

    private void resize(long bytes) {
        window = Math.max(minWindow, Math.min(maxWindow, bytes));
    }

    @Override
    public long rttNanos() {
        return roundTrips.smoothedNanos();
    }

    /**
     * The configured round trip, the same for every flow through a bottleneck (a target from each flow's own lowest
     * round trip would favour the flow that came last, whose lowest includes the queue the others built, until it
     * had the whole port); a path whose unloaded round trip is at the target already aims at twice that instead.
     * Scaled up as the window shrinks, by half at the floor (as Swift's flow-based scaling): of flows that see one
     * queue, the larger backs off first, so they converge to equal shares.
     */
    @Override
    public long rttTargetNanos() {
        long base = roundTrips.baseNanos();
        if (base < 0) {
            return -1;
        }
        long target = base >= targetRttNanos ? 2 * base : targetRttNanos;
        return target + (long) (target * smallness() / 2);
    }

    /** 0 at the ceiling, 1 at the floor, by 1/√window in between: small windows differ most. */
    private double smallness() {
        double now = 1 / Math.sqrt(window);
        double atFloor = 1 / Math.sqrt(minWindow);
        double atCeiling = 1 / Math.sqrt(maxWindow);
        return atFloor == atCeiling ? 0 : (now - atCeiling) / (atFloor - atCeiling);
    }

    @Override
    public long losses() {
        return losses;
    }
}
