package io.vmrdma.sched.priority.internal;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.TransmitQueue;
import io.vmrdma.api.sched.Turn;
import io.vmrdma.api.sched.VmSettings;
import org.agrona.collections.IntArrayQueue;

/**
 * Strict priority over {@link VmSettings#priority() levels} 0 (highest) to {@link VmSettings#LOWEST_PRIORITY},
 * round-robin within a level, one frame per turn so a queue that becomes backlogged at a higher level waits for at
 * most the frame on the wire (and one guard frame).
 *
 * <p>Starvation guard: while a level below the highest busy one has work, the scheduler keeps a byte account of
 * what the lower levels are owed, {@code share} of all bytes sent; whenever it is in credit the next turn goes to
 * a lower level, the lower levels taking these turns in rotation. So the lower levels together get at least the
 * configured share, each of them some of it, and the highest level the rest.
 *
 * <p>A bit mask of the levels with work finds the highest one in O(1); each level's FIFO of slots drops the stale
 * entries of queues that went idle or changed level when they come up (amortised O(1), no allocation; a slot has
 * at most one entry per level, so no FIFO grows).
 */
final class StrictPriorityScheduler implements Scheduler {

    private static final int LEVELS = VmSettings.LOWEST_PRIORITY + 1;
    private static final int PER_MILLE = 1000;

    private final StrictPriorityPolicy policy;
    private final TransmitQueue[] backlogged;
    private final int[] levelOf;
    private final int[] entryLevels;
    private final IntArrayQueue[] fifos = new IntArrayQueue[LEVELS];
    private final int[] backloggedAt = new int[LEVELS];
    private int levelsWithWork;
    private int lastGuardLevel = LEVELS - 1;
    private long guardCreditPerMille;
    private boolean guardTurn;

    StrictPriorityScheduler(int capacity, StrictPriorityPolicy policy) {
        this.policy = policy;
        backlogged = new TransmitQueue[capacity];
        levelOf = new int[capacity];
        entryLevels = new int[capacity];
        for (int level = 0; level < LEVELS; level++) {
            fifos[level] = new IntArrayQueue(Math.max(capacity, IntArrayQueue.MIN_CAPACITY));
        }
    }

    @Override
    public void backlogged(TransmitQueue queue, long nowNanos) {
        int slot = queue.slot();
        if (backlogged[slot] == null) {
            backlogged[slot] = queue;
            join(slot, levelOf(queue));
        }
    }

    @Override
    public void idle(TransmitQueue queue, long nowNanos) {
        int slot = queue.slot();
        if (backlogged[slot] != null) {
            backlogged[slot] = null;
            leave(slot);
        }
    }

    @Override
    public void settingsChanged(TransmitQueue queue) {
        int slot = queue.slot();
        int level = levelOf(queue);
        if (backlogged[slot] != null && levelOf[slot] != level) {
            leave(slot);
            join(slot, level);
        }
    }

    @Override
    public boolean next(long nowNanos, Turn turn) {
        if (levelsWithWork == 0) {
            return false;
        }
        int top = Integer.numberOfTrailingZeros(levelsWithWork);
        int lower = levelsWithWork & (levelsWithWork - 1);
        int level = top;
        guardTurn = false;
        if (lower == 0) {
            guardCreditPerMille = 0;
        } else if (guardCreditPerMille > 0) {
            int below = lower & -(2 << lastGuardLevel);
            level = Integer.numberOfTrailingZeros(below != 0 ? below : lower);
            lastGuardLevel = level;
            guardTurn = true;
        }
        int slot = nextLiveSlot(level);
        fifos[level].offerInt(slot);
        turn.grant(backlogged[slot], 0);
        return true;
    }

    @Override
    public void sent(TransmitQueue queue, long bytes, long nowNanos) {
        int share = policy.guardPerMille();
        if (guardTurn) {
            guardCreditPerMille -= bytes * (PER_MILLE - share);
        } else if ((levelsWithWork & (levelsWithWork - 1)) != 0) {
            guardCreditPerMille += bytes * share;
        }
    }

    private static int levelOf(TransmitQueue queue) {
        return Math.min(Math.max(queue.settings().priority(), 0), VmSettings.LOWEST_PRIORITY);
    }

    private void join(int slot, int level) {
        levelOf[slot] = level;
        if (backloggedAt[level]++ == 0) {
            levelsWithWork |= 1 << level;
        }
        if ((entryLevels[slot] & (1 << level)) == 0) {
            entryLevels[slot] |= 1 << level;
            fifos[level].offerInt(slot);
        }
    }

    private void leave(int slot) {
        int level = levelOf[slot];
        if (--backloggedAt[level] == 0) {
            levelsWithWork &= ~(1 << level);
        }
    }

    /** The first queue in the level's FIFO that is still backlogged at that level; the level has one. */
    private int nextLiveSlot(int level) {
        IntArrayQueue fifo = fifos[level];
        while (true) {
            int slot = fifo.pollInt();
            if (backlogged[slot] != null && levelOf[slot] == level) {
                return slot;
            }
            entryLevels[slot] &= ~(1 << level);
        }
    }
}
