package io.vmrdma.engine.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The data agent's idle strategy with the NIC port's wait and no guest devices, on a hand-advanced clock: it spins
 * through idle spells that are typically short, sleeps at once when they are long, and comes back to spinning when
 * they are short again.
 */
class WakeableIdleStrategyTest {

    private long now = 1_000_000;
    private final List<Long> waits = new ArrayList<>();
    private final WakeableIdleStrategy idle = new WakeableIdleStrategy(() -> now);

    WakeableIdleStrategyTest() {
        idle.waiter(waits::add);
        idle.wirePolled(true);
    }

    /** A spell of {@code nanos} in steps of one microsecond, then a duty cycle with work; the waits it made. */
    private int spell(long nanos) {
        int before = waits.size();
        for (long t = 0; t < nanos; t += 1_000) {
            idle.idle(0);
            now += 1_000;
        }
        idle.idle(1);
        return waits.size() - before;
    }

    @Test
    void shortSpellsAreSpunThroughWithoutAWait() {
        for (int i = 0; i < 100; i++) {
            assertThat(spell(10_000)).as("spell %d", i).isZero();
        }
    }

    @Test
    void aSpellLongerThanTheSpinEndsInTheNicWait() {
        assertThat(spell(200_000)).as("turns after the first 30 µs").isEqualTo(170);
        assertThat(waits).allMatch(w -> w == WakeableIdleStrategy.MAX_PARK_NANOS);
    }

    @Test
    void longSpellsSleepAtOnceAndShortOnesBringTheSpinBack() {
        for (int i = 0; i < 20; i++) {
            spell(500_000);
        }
        assertThat(spell(10_000)).as("the first turn already waits").isEqualTo(10);
        int shortSpells = 0;
        while (spell(10_000) > 0) {
            shortSpells++;
            assertThat(shortSpells).as("spinning again after some short spells").isLessThan(20);
        }
        assertThat(spell(10_000)).isZero();
    }
}
