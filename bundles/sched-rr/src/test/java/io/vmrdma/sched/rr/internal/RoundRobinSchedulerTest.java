package io.vmrdma.sched.rr.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import io.vmrdma.api.sched.TransmitQueue;
import io.vmrdma.api.sched.Turn;
import io.vmrdma.api.sched.VmSettings;
import org.junit.jupiter.api.Test;

class RoundRobinSchedulerTest {

    private record Queue(int slot) implements TransmitQueue {
        @Override
        public int domid() {
            return slot + 1;
        }

        @Override
        public String domainName() {
            return "vm" + slot;
        }

        @Override
        public long backlogBytes() {
            return 0;
        }

        @Override
        public VmSettings settings() {
            throw new AssertionError("round-robin must not look at settings");
        }
    }

    private final RoundRobinScheduler scheduler = new RoundRobinScheduler(64);
    private final Turn turn = new Turn();

    private List<Integer> picks(int count) {
        List<Integer> slots = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            assertThat(scheduler.next(0, turn)).isTrue();
            slots.add(turn.queue().slot());
            scheduler.sent(turn.queue(), 9000, 0);
        }
        return slots;
    }

    @Test
    void nothingBackloggedMeansNoTurn() {
        assertThat(scheduler.next(0, turn)).isFalse();
    }

    @Test
    void backloggedQueuesTakeTurnsInArrivalOrder() {
        scheduler.backlogged(new Queue(5), 0);
        scheduler.backlogged(new Queue(2), 0);
        scheduler.backlogged(new Queue(9), 0);
        assertThat(picks(7)).containsExactly(5, 2, 9, 5, 2, 9, 5);
    }

    @Test
    void aQueueThatGoesIdleLeavesTheRoundAndRejoinsAtItsEnd() {
        Queue a = new Queue(0);
        Queue b = new Queue(1);
        Queue c = new Queue(2);
        scheduler.backlogged(a, 0);
        scheduler.backlogged(b, 0);
        scheduler.backlogged(c, 0);
        assertThat(picks(1)).containsExactly(0);
        scheduler.idle(b, 0);
        assertThat(picks(3)).containsExactly(2, 0, 2);
        scheduler.backlogged(b, 0);
        assertThat(picks(3)).containsExactly(0, 2, 1);
        scheduler.idle(a, 0);
        scheduler.idle(b, 0);
        scheduler.idle(c, 0);
        assertThat(scheduler.next(0, turn)).isFalse();
    }

    @Test
    void repeatedNotificationsAreHarmless() {
        Queue a = new Queue(3);
        scheduler.backlogged(a, 0);
        scheduler.backlogged(a, 0);
        assertThat(picks(2)).containsExactly(3, 3);
        scheduler.idle(a, 0);
        scheduler.idle(a, 0);
        assertThat(scheduler.next(0, turn)).isFalse();
    }

    @Test
    void everyBackloggedQueueGetsTheSameNumberOfTurnsUnderRandomChurn() {
        Random random = new Random(7);
        Queue[] queues = new Queue[64];
        boolean[] backlogged = new boolean[64];
        for (int i = 0; i < 64; i++) {
            queues[i] = new Queue(i);
        }
        for (int round = 0; round < 200; round++) {
            int slot = random.nextInt(64);
            if (backlogged[slot]) {
                scheduler.idle(queues[slot], 0);
            } else {
                scheduler.backlogged(queues[slot], 0);
            }
            backlogged[slot] = !backlogged[slot];
            int active = 0;
            for (boolean b : backlogged) {
                active += b ? 1 : 0;
            }
            if (active == 0) {
                continue;
            }
            int[] turns = new int[64];
            for (int i = 0; i < active * 3; i++) {
                assertThat(scheduler.next(0, turn)).isTrue();
                assertThat(backlogged[turn.queue().slot()]).isTrue();
                turns[turn.queue().slot()]++;
            }
            for (int i = 0; i < 64; i++) {
                assertThat(turns[i]).isEqualTo(backlogged[i] ? 3 : 0);
            }
        }
    }
}
