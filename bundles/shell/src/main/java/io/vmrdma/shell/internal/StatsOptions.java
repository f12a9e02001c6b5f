package io.vmrdma.shell.internal;

/** Checks the options of {@code vmrdma:stats}, so a typo is refused with what is accepted rather than run. */
final class StatsOptions {

    static final double MIN_SECONDS = 0.1;
    static final double MAX_SECONDS = 3600;
    static final long MAX_ROUNDS = 1_000_000;

    private StatsOptions() {
    }

    /** The interval in seconds: 1 when not given. */
    static double seconds(String text) {
        if (text == null) {
            return 1;
        }
        double seconds;
        try {
            seconds = Double.parseDouble(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-i takes seconds (0.1 to 3600), not " + text);
        }
        if (!(seconds >= MIN_SECONDS && seconds <= MAX_SECONDS)) {
            throw new IllegalArgumentException("-i takes seconds (0.1 to 3600), not " + text);
        }
        return seconds;
    }

    /** The number of rounds: as given, else unbounded with an interval and one without. */
    static long rounds(String text, boolean intervalGiven) {
        if (text == null) {
            return intervalGiven ? Long.MAX_VALUE : 1;
        }
        long rounds;
        try {
            rounds = Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-n takes a number of rounds (1 to " + MAX_ROUNDS + "), not " + text);
        }
        if (rounds < 1 || rounds > MAX_ROUNDS) {
            throw new IllegalArgumentException("-n takes a number of rounds (1 to " + MAX_ROUNDS + "), not " + text);
        }
        return rounds;
    }
}
