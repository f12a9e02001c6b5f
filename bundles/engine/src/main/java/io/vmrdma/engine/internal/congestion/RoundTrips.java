package io.vmrdma.engine.internal.congestion;

/** Round trips of data packets to one peer, smoothed as the retransmission timer smooths them (7/8 old + 1/8 new). */
final class RoundTrips {

    private volatile long smoothedNanos = -1;

    void sample(long sampleNanos) {
        long rtt = Math.max(1, sampleNanos);
        long smoothed = smoothedNanos;
        smoothedNanos = smoothed < 0 ? rtt : smoothed + (rtt - smoothed) / 8;
    }

    /** The smoothed round trip, -1 before the first sample. */
    long smoothedNanos() {
        return smoothedNanos;
    }
}
