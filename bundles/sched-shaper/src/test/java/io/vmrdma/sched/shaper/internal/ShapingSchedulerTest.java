package io.vmrdma.sched.shaper.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import java.util.function.IntSupplier;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.SchedulingPolicy;
import io.vmrdma.api.sched.Turn;
import io.vmrdma.sched.drr.internal.DeficitRoundRobinPolicy;
import io.vmrdma.sched.rr.internal.RoundRobinPolicy;
import io.vmrdma.sched.testkit.ShareMeter;
import io.vmrdma.sched.testkit.SimQueue;
import io.vmrdma.sched.testkit.SimSettings;
import io.vmrdma.sched.testkit.SimulatedLink;
import org.junit.jupiter.api.Test;

class ShapingSchedulerTest {

    private static final long LINK_BYTES_PER_SECOND = 1_250_000_000L;
    private static final long SECOND = 1_000_000_000L;
    private static final long MILLISECOND = 1_000_000L;
    private static final long SEED = 8L;
    private static final int JUMBO = 9000;

    private final TokenBucketShaper shaper = new TokenBucketShaper();

    private static IntSupplier mixedFrames(Random random) {
        return () -> 64 + random.nextInt(JUMBO - 64 + 1);
    }

    private Scheduler shaped(SchedulingPolicy ordering, int capacity) {
        return shaper.wrap(ordering.newScheduler(capacity), capacity);
    }

    @Test
    void capsHoldWithinThreePercentOverEverySecondWhileTheOthersUseTheRestOfTheLink() {
        Random random = new Random(SEED);
        SimulatedLink link = new SimulatedLink(LINK_BYTES_PER_SECOND, 4);
        ShareMeter meter = new ShareMeter(4, SECOND, 4);
        link.onDeparture(meter);
        long[] rates = {100_000_000L, 300_000_000L, 0, 0};
        long[] bursts = {1_000_000L, 256 * 1024L, 0, 0};
        for (int i = 0; i < rates.length; i++) {
            link.bulk(link.addVm("vm" + i, new SimSettings().rate(rates[i], bursts[i])), mixedFrames(random));
        }
        link.swap(shaped(new RoundRobinPolicy(), 4));
        // The operator activates another ordering policy: the engine builds a new shaped scheduler.
        link.swapAt(2 * SECOND + 500 * MILLISECOND, shaped(new DeficitRoundRobinPolicy(), 4));
        link.runUntil(4 * SECOND);
        link.drain();

        for (int window = 0; window < 4; window++) {
            long total = 0;
            for (int i = 0; i < rates.length; i++) {
                SimQueue vm = link.vms().get(i);
                total += meter.bytes(vm, window);
                if (rates[i] > 0) {
                    assertThat((double) meter.bytes(vm, window) / rates[i]).as("%s in second %d", vm, window)
                            .isCloseTo(1.0, within(0.03));
                    assertThat(meter.bytes(vm, window)).isLessThanOrEqualTo(rates[i] + 2 * bursts[i] + JUMBO);
                }
            }
            assertThat((double) total / LINK_BYTES_PER_SECOND).as("link use in second %d", window)
                    .isCloseTo(1.0, within(0.001));
        }
    }

    @Test
    void aVmBackFromIdleSendsItsBurstAtLinkSpeedThenItsRate() {
        SimulatedLink link = new SimulatedLink(LINK_BYTES_PER_SECOND, 1);
        long rate = 10_000_000L;
        long burst = 2_000_000L;
        SimQueue vm = link.addVm("vm", new SimSettings().rate(rate, burst));
        long[] sentByBurstTime = new long[1];
        long burstTime = burst * SECOND / LINK_BYTES_PER_SECOND;
        link.onDeparture((queue, bytes, arrived, left) -> {
            if (left <= burstTime + SECOND / 1000) {
                sentByBurstTime[0] += bytes;
            }
        });
        link.swap(shaped(new RoundRobinPolicy(), 1));
        for (int i = 0; i < 2000; i++) {
            link.arrive(vm, JUMBO);
        }
        link.runUntil(SECOND);

        assertThat(sentByBurstTime[0]).isBetween(burst, burst + rate * (burstTime + MILLISECOND) / SECOND + 2 * JUMBO);
        assertThat(vm.departedBytes()).isBetween(rate + burst - JUMBO, rate + burst + JUMBO);
        link.drain();
    }

    @Test
    void whenEveryQueueIsOverItsCapTheEngineLearnsWhenToAskAgain() {
        Turn turn = new Turn();
        Scheduler scheduler = shaped(new RoundRobinPolicy(), 2);
        SimulatedLink link = new SimulatedLink(LINK_BYTES_PER_SECOND, 2);
        SimQueue vm = link.addVm("vm", new SimSettings().rate(1_000_000L, 0));
        scheduler.backlogged(vm, 0);
        assertThat(scheduler.next(0, turn)).isTrue();
        assertThat(turn.budgetBytes()).isZero();
        scheduler.sent(vm, 1000, 0);

        assertThat(scheduler.next(0, turn)).isFalse();
        assertThat(scheduler.nextEligibleNanos(0)).isEqualTo(MILLISECOND);
        assertThat(scheduler.next(MILLISECOND - 1, turn)).isFalse();
        assertThat(scheduler.next(MILLISECOND, turn)).isTrue();
        scheduler.sent(vm, 1000, MILLISECOND);

        vm.simSettings().rate(0, 0);
        scheduler.settingsChanged(vm);
        assertThat(scheduler.next(MILLISECOND, turn)).as("a lifted cap releases the queue at once").isTrue();
        scheduler.idle(vm, MILLISECOND);
        assertThat(scheduler.next(MILLISECOND, turn)).isFalse();
        assertThat(scheduler.nextEligibleNanos(MILLISECOND)).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void capsChangedLiveAndQueuesComingAndGoingLoseNothing() {
        Random random = new Random(SEED);
        int vms = 32;
        SimulatedLink link = new SimulatedLink(LINK_BYTES_PER_SECOND, vms);
        for (int i = 0; i < vms; i++) {
            SimQueue vm = link.addVm("vm" + i, new SimSettings().rate(10_000_000L + random.nextInt(50_000_000),
                    random.nextInt(200_000)));
            link.periodic(vm, random.nextInt(1_000_000), 50_000 + random.nextInt(200_000), 64 + random.nextInt(9000));
            link.at(random.nextInt(100) * MILLISECOND, () -> {
                vm.simSettings().rate(random.nextBoolean() ? 0 : 1_000_000L + random.nextInt(10_000_000),
                        random.nextInt(100_000));
                link.settingsChanged(vm);
            });
        }
        link.swap(shaped(new DeficitRoundRobinPolicy(), vms));
        link.swapAt(50 * MILLISECOND, shaped(new RoundRobinPolicy(), vms));
        link.runUntil(100 * MILLISECOND);
        link.drain();
    }

    @Test
    void theParkedHeapAlwaysYieldsTheEarliestQueue() {
        Random random = new Random(SEED);
        ParkedQueues parked = new ParkedQueues(64);
        long[] due = new long[64];
        boolean[] in = new boolean[64];
        for (int step = 0; step < 20_000; step++) {
            int slot = random.nextInt(64);
            switch (random.nextInt(3)) {
                case 0 -> {
                    due[slot] = random.nextInt(1000);
                    in[slot] = true;
                    parked.park(slot, due[slot]);
                }
                case 1 -> {
                    if (in[slot]) {
                        in[slot] = false;
                        parked.remove(slot);
                    }
                }
                default -> {
                    long earliest = Long.MAX_VALUE;
                    for (int s = 0; s < 64; s++) {
                        earliest = in[s] ? Math.min(earliest, due[s]) : earliest;
                    }
                    assertThat(parked.firstDueNanos()).as("step %d, seed %d", step, SEED).isEqualTo(earliest);
                    if (earliest != Long.MAX_VALUE) {
                        int first = parked.takeFirst();
                        assertThat(due[first]).isEqualTo(earliest);
                        in[first] = false;
                    }
                }
            }
            assertThat(parked.contains(slot)).isEqualTo(in[slot]);
        }
    }
}
