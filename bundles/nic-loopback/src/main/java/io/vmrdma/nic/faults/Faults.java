package io.vmrdma.nic.faults;

/**
 * What happens to frames in one direction: each frame is independently lost, duplicated, reordered (held back
 * behind up to {@code reorderDepth} later frames) or corrupted (one byte flipped) with the given probabilities,
 * and held for {@code delayNanos} with probability {@code delayRate}.
 */
public record Faults(double lossRate, double duplicateRate, double reorderRate, double corruptRate,
                     double delayRate, long delayNanos, int reorderDepth) {

    /** No faults. */
    public static final Faults NONE = new Faults(0, 0, 0, 0, 0, 0, 1);

    public Faults {
        rate("lossRate", lossRate);
        rate("duplicateRate", duplicateRate);
        rate("reorderRate", reorderRate);
        rate("corruptRate", corruptRate);
        rate("delayRate", delayRate);
        if (delayNanos < 0) {
            throw new IllegalArgumentException("delayNanos must not be negative");
        }
        if (reorderDepth < 1) {
            throw new IllegalArgumentException("reorderDepth must be at least 1");
        }
    }

    /** Each of loss, duplication, reordering and corruption at {@code rate}, no delay. */
    public static Faults uniform(double rate) {
        return new Faults(rate, rate, rate, rate, 0, 0, 4);
    }

    public boolean none() {
        return lossRate == 0 && duplicateRate == 0 && reorderRate == 0 && corruptRate == 0 && delayRate == 0;
    }

    private static void rate(String name, double value) {
        if (!(value >= 0 && value <= 1)) {
            throw new IllegalArgumentException(name + " must be within 0..1, not " + value);
        }
    }
}
