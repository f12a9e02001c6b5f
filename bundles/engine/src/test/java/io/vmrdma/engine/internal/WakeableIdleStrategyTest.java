package io.vmrdma.engine.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The data agent's idle strategy on a hand-advanced clock. With the NIC port's wait and no guest devices it spins
 * through idle spells that are typically short, sleeps at once when they are long, and comes back to spinning when
 * they are short again. With guest devices and a NIC it sleeps on both at once where the port can, and backs off in
 * short sleeps where it cannot.
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

    /** Guests' devices whose event channel is descriptor 7; records what the agent asks of it. */
    private static final class Guests implements Doorbell {
        boolean sleeping;
        boolean requestWaiting;
        final List<Long> awaits = new ArrayList<>();

        @Override
        public boolean hasDevices() {
            return true;
        }

        @Override
        public boolean arm() {
            return !requestWaiting;
        }

        @Override
        public boolean guestsSleep() {
            return sleeping;
        }

        @Override
        public boolean await(long maxNanos) {
            awaits.add(maxNanos);
            return false;
        }

        @Override
        public int pollFd() {
            return 7;
        }
    }

    private final Guests guests = new Guests();
    private final List<Integer> bothWaits = new ArrayList<>();

    private void withGuests(boolean portCanWaitOnBoth) {
        idle.doorbell(guests);
        idle.framesOrDescriptor((fd, timeout) -> {
            assertThat(timeout).isEqualTo(WakeableIdleStrategy.MAX_PARK_NANOS);
            bothWaits.add(fd);
            return portCanWaitOnBoth;
        });
    }

    @Test
    void pollingGuestsAndTheWireAreSleptOnTogetherAtOnce() {
        withGuests(true);
        idle.idle(0);
        assertThat(bothWaits).as("the event channel's descriptor beside the port").containsExactly(7);
        assertThat(guests.awaits).as("then the notification is taken without a sleep").containsExactly(0L);
    }

    @Test
    void aRequestThatCameMeanwhileMeansNoSleep() {
        withGuests(true);
        guests.requestWaiting = true;
        idle.idle(0);
        assertThat(bothWaits).isEmpty();
        assertThat(guests.awaits).isEmpty();
    }

    @Test
    void sleepingGuestsWithShortSpellsAreSpunFor() {
        withGuests(true);
        guests.sleeping = true;
        for (int i = 0; i < 50; i++) {
            assertThat(spell(10_000)).isZero();
        }
        assertThat(bothWaits).isEmpty();
        spell(100_000);
        assertThat(bothWaits).as("past the first 30 µs of a long spell").hasSize(70);
    }

    @Test
    void aPortThatCannotWaitOnBothLeavesTheBackOffInShortSleeps() {
        withGuests(false);
        for (int i = 0; i < 200; i++) {
            idle.idle(0);
        }
        assertThat(guests.awaits).as("sleeps on the event channel alone, doubling from 1 µs").isNotEmpty()
                .first().isEqualTo(1_000L);
        assertThat(guests.awaits).allMatch(a -> a <= WakeableIdleStrategy.MAX_PARK_NANOS);
    }
}
