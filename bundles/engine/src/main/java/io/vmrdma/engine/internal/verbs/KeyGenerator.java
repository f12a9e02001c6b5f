package io.vmrdma.engine.internal.verbs;

import java.security.SecureRandom;
import java.util.SplittableRandom;
import java.util.function.IntPredicate;

import org.agrona.collections.IntHashSet;

/**
 * Memory keys: unpredictable non-zero 32-bit values, unique among live keys, and never handed out again while
 * they are among the last {@code quarantine} keys released. A peer that guesses or remembers a key of another
 * tenant therefore hits nothing, or at worst a fresh region of the same owner, never a recycled one.
 */
final class KeyGenerator {

    private final SplittableRandom random;
    private final int[] recentlyReleased;
    private final IntHashSet quarantined;
    private int nextSlot;

    /** Keys from a generator seeded by the operating system's entropy. */
    KeyGenerator(int quarantine) {
        this(new SecureRandom().nextLong(), quarantine);
    }

    /** Keys from a fixed seed, for reproducible tests. */
    KeyGenerator(long seed, int quarantine) {
        random = new SplittableRandom(seed);
        recentlyReleased = new int[quarantine];
        quarantined = new IntHashSet(quarantine * 2);
    }

    /** A fresh key for which {@code inUse} is false. */
    int next(IntPredicate inUse) {
        while (true) {
            int key = random.nextInt();
            if (key != 0 && !inUse.test(key) && !quarantined.contains(key)) {
                return key;
            }
        }
    }

    /** Records that {@code key} is no longer in use; it stays unused for the next {@code quarantine} releases. */
    void release(int key) {
        int evicted = recentlyReleased[nextSlot];
        if (evicted != 0) {
            quarantined.remove(evicted);
        }
        recentlyReleased[nextSlot] = key;
        quarantined.add(key);
        nextSlot = (nextSlot + 1) % recentlyReleased.length;
    }
}
