package io.vmrdma.engine.internal.congestion;

/**
 * Which congestion control peers get, and its parameters, as the engine's configuration sets them (docs/wire-protocol.md
 * lists the keys and why the defaults are what they are).
 *
 * @param algorithm         {@link #DELAY} or {@link #OFF}
 * @param initialWindow     bytes a new peer's window starts at
 * @param minWindow         the floor: no signal takes a window below it, so no flow starves
 * @param maxWindow         the ceiling, and the fixed window with {@link #OFF}: what a receiver's socket buffer
 *                          holds from one node
 * @param targetRttNanos    the round trip a window at the ceiling aims to stay below (one at the floor, twice it):
 *                          above the unloaded round trip of the hosts, their waits for a core included
 * @param increaseBytes     bytes the window grows by per round trip while the round trip stays below the target
 * @param decreasePercent   β in percent: the window shrinks by β times the share of the round trip that is excess
 *                          delay, at most by half per round trip
 */
public record CongestionSettings(String algorithm, long initialWindow, long minWindow, long maxWindow,
                                 long targetRttNanos, long increaseBytes, int decreasePercent) {

    /** Delay-based additive increase, multiplicative decrease ({@link DelayAimd}). */
    public static final String DELAY = "delay";
    /** No congestion control: the window is always {@code maxWindow} ({@link FixedWindow}). */
    public static final String OFF = "off";

    /** The defaults of docs/wire-protocol.md. */
    public static final CongestionSettings DEFAULTS =
            new CongestionSettings(DELAY, 256L << 10, 64L << 10, 4L << 20, 300_000, 64L << 10, 80);

    /** As the defaults, with congestion control off: every peer's window is the fixed 4 MiB. */
    public static final CongestionSettings FIXED = DEFAULTS.withAlgorithm(OFF);

    public CongestionSettings {
        if (!DELAY.equals(algorithm) && !OFF.equals(algorithm)) {
            throw new IllegalArgumentException("congestionControl: '" + algorithm + "' is neither " + DELAY + " nor "
                    + OFF);
        }
        if (minWindow < 1 || minWindow > maxWindow) {
            throw new IllegalArgumentException("ccMinWindow: " + minWindow + " must be 1 to ccMaxWindow (" + maxWindow
                    + ")");
        }
        if (initialWindow < minWindow || initialWindow > maxWindow) {
            throw new IllegalArgumentException("ccInitialWindow: " + initialWindow + " must be within ccMinWindow ("
                    + minWindow + ") to ccMaxWindow (" + maxWindow + ")");
        }
        if (targetRttNanos < 0 || increaseBytes < 1 || decreasePercent < 1 || decreasePercent > 100) {
            throw new IllegalArgumentException("ccTargetRttMicros, ccIncrease or ccDecreasePercent out of range: "
                    + targetRttNanos / 1000 + " µs, " + increaseBytes + " bytes, " + decreasePercent + " %");
        }
    }

    public CongestionSettings withAlgorithm(String name) {
        return new CongestionSettings(name, initialWindow, minWindow, maxWindow, targetRttNanos, increaseBytes,
                decreasePercent);
    }

    /** A controller for a new peer. */
    public CongestionControl newController() {
        return OFF.equals(algorithm) ? new FixedWindow(maxWindow) : new DelayAimd(this);
    }
}
