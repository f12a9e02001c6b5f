package io.vmrdma.engine.internal.congestion;

/**
 * Delay-based additive increase, multiplicative decrease, once per round trip. A round ends one smoothed round trip
 * after it began; then the mean round trip sampled in it decides, leaving out the highest sample of a round that has
 * three or more (so a single acknowledgement that waited for a core does not count as a queue). The mean and not the
 * lowest: a flow with a larger window gets more samples per round, and the lowest of more samples is lower, so the
 * lowest would let larger windows grow where smaller ones shrink. That round trip
 * <ul>
 * <li>above the target ({@link #rttTargetNanos}), or a receiver that asked to back off: the window shrinks by
 * β × (mean − target) / mean, at most by half;</li>
 * <li>otherwise it grows by the configured increase, if the round used it: if some acknowledgement of the round found
 * no less than the window less one increase in flight (a window the flow does not fill would only grow to be sent
 * as one burst when the flow wakes up, as in RFC 7661).</li>
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
    private long roundRttSum;
    private int roundRttCount;
    private long roundHighestRtt;
    private boolean roundPressure;
    private boolean roundLoss;
    /** The most bytes in flight an acknowledgement of the round saw: whether the window was used. */
    private long roundMostInFlight;

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
    public void onAck(long nowNanos, long rttSampleNanos, long ackedBytes, long inFlightBytes,
                      boolean receiverPressure) {
        if (roundStarted && nowNanos - roundEndsNanos >= 0) {
            endRound();
        }
        if (rttSampleNanos >= 0) {
            roundTrips.sample(rttSampleNanos);
            long rtt = Math.max(1, rttSampleNanos);
            roundRttSum += rtt;
            roundRttCount++;
            roundHighestRtt = Math.max(roundHighestRtt, rtt);
        }
        roundPressure |= receiverPressure;
        roundMostInFlight = Math.max(roundMostInFlight, inFlightBytes);
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
        roundRttSum = 0;
        roundRttCount = 0;
        roundHighestRtt = 0;
        roundPressure = false;
        roundLoss = false;
        roundMostInFlight = 0;
    }

    private void followDelay() {
        long target = rttTargetNanos();
        long rtt = roundRttCount == 0 ? -1 : roundRttCount < 3 ? roundRttSum / roundRttCount
                : (roundRttSum - roundHighestRtt) / (roundRttCount - 1);
        if (roundPressure) {
            // As a round trip of twice the target: the receiver drops before the delay shows it.
            resize(window - window * decreasePercent / 200);
        } else if (rtt > target) {
            long excess = rtt - target;
            long cut = (long) (window * (decreasePercent / 100.0) * excess / rtt);
            resize(window - Math.min(cut, window / 2));
        } else if (rtt > 0 && roundMostInFlight + increaseBytes >= window) {
            // Only a window the flow filled grows: one it left unused (its thread did not get a core, its
            // application posted little) says nothing about the path, and would go out as one burst later.
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
     * The configured round trip, the same for every flow through a bottleneck, scaled up as the window shrinks, to
     * twice at the floor (as Swift's flow-based scaling): of flows that see one queue, the larger backs off first, so
     * they converge to equal shares. Not each flow's lowest round trip plus a margin: a flow that joins a busy port
     * measures the queue the others built as its lowest, and would take the port from them. -1 before the first
     * sample.
     */
    @Override
    public long rttTargetNanos() {
        return roundTrips.smoothedNanos() < 0 ? -1 : targetRttNanos + (long) (targetRttNanos * smallness());
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
