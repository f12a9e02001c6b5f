package io.vmrdma.engine.internal.auth;

/**
 * Which frame counters of one peer's epoch were seen: the highest, and a bitmap of the {@link #SIZE} below it
 * (RFC 4303's anti-replay window, wider, since a peer's one counter runs over the frames it sends to every node).
 * A counter at or below the highest minus {@link #SIZE}, or one already seen, is a replay.
 */
public final class ReplayWindow {

    /** Counters tracked below the highest seen; frames arriving later than this many are refused. */
    public static final int SIZE = 1024;
    private static final int WORDS = SIZE / 64;

    private final long[] seen = new long[WORDS];
    private long highest;

    /** Forgets everything: the next counter of a new epoch is fresh whatever its value. */
    public void reset() {
        java.util.Arrays.fill(seen, 0);
        highest = 0;
    }

    /**
     * Starts a new epoch at {@code counter}: it and every counter below it count as seen, since frames the peer sent
     * before its epoch was confirmed were never believed and must not be later.
     */
    public void startAt(long counter) {
        java.util.Arrays.fill(seen, -1L);
        highest = counter;
    }

    /** Whether {@code counter} (from 1) was not seen and is still inside the window. */
    public boolean isFresh(long counter) {
        if (counter <= 0) {
            return false;
        }
        if (counter > highest) {
            return true;
        }
        long behind = highest - counter;
        return behind < SIZE && (seen[slot(counter)] & bit(counter)) == 0;
    }

    /** Marks a fresh {@code counter} seen, sliding the window when it is the highest yet. */
    public void mark(long counter) {
        if (counter > highest) {
            long advance = counter - highest;
            if (advance >= SIZE) {
                java.util.Arrays.fill(seen, 0);
            } else {
                for (long c = highest + 1; c < counter; c++) {
                    seen[slot(c)] &= ~bit(c);
                }
            }
            highest = counter;
        }
        seen[slot(counter)] |= bit(counter);
    }

    private static int slot(long counter) {
        return (int) ((counter >>> 6) & (WORDS - 1));
    }

    private static long bit(long counter) {
        return 1L << (counter & 63);
    }
}
