package io.vmrdma.sched.drr.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Random;
import java.util.function.IntSupplier;

import io.vmrdma.api.sched.Turn;
import io.vmrdma.sched.rr.internal.RoundRobinPolicy;
import io.vmrdma.sched.testkit.ShareMeter;
import io.vmrdma.sched.testkit.SimQueue;
import io.vmrdma.sched.testkit.SimSettings;
import io.vmrdma.sched.testkit.SimulatedLink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DeficitRoundRobinSchedulerTest {

    private static final long LINK_BYTES_PER_SECOND = 1_250_000_000L;
    private static final long MILLISECOND = 1_000_000L;
    private static final long SEED = 8L;

    private final DeficitRoundRobinPolicy policy = new DeficitRoundRobinPolicy();

    /** Frame sizes from minimum Ethernet to jumbo, so shares by turn and by byte differ. */
    private static IntSupplier mixedFrames(Random random) {
        return () -> 64 + random.nextInt(9000 - 64 + 1);
    }

    @ParameterizedTest(name = "{0} VMs")
    @ValueSource(ints = {2, 3, 8, 16, 33, 64})
    void equalWeightsShareTheLinkFairlyAfterASwapFromRoundRobin(int vms) {
        Random random = new Random(SEED + vms);
        SimulatedLink link = new SimulatedLink(LINK_BYTES_PER_SECOND, vms);
        ShareMeter meter = new ShareMeter(vms, MILLISECOND, 400);
        link.onDeparture(meter);
        for (int i = 0; i < vms; i++) {
            link.bulk(link.addVm("vm" + i), mixedFrames(random));
        }
        link.swap(new RoundRobinPolicy().newScheduler(vms));
        link.swapAt(100 * MILLISECOND, policy.newScheduler(vms));
        link.runUntil(400 * MILLISECOND);
        link.drain();

        long[] bytes = link.vms().stream().mapToLong(q -> meter.bytes(q, 110, 400)).toArray();
        assertThat(ShareMeter.jain(bytes)).as("Jain's index, seed %d", SEED + vms).isGreaterThanOrEqualTo(0.99);
    }

    @Test
    void weightsOneTwoFourGetByteSharesWithinThreePercent() {
        Random random = new Random(SEED);
        int[] weights = {1, 2, 4, 1, 2, 4};
        SimulatedLink link = new SimulatedLink(LINK_BYTES_PER_SECOND, weights.length);
        ShareMeter meter = new ShareMeter(weights.length, MILLISECOND, 400);
        link.onDeparture(meter);
        for (int i = 0; i < weights.length; i++) {
            link.bulk(link.addVm("vm" + i, new SimSettings().weight(weights[i])), mixedFrames(random));
        }
        link.swap(new RoundRobinPolicy().newScheduler(weights.length));
        link.swapAt(100 * MILLISECOND, policy.newScheduler(weights.length));
        link.runUntil(400 * MILLISECOND);
        link.drain();

        assertSharesFollowWeights(link.vms(), meter, 110, 400, weights);
        System.out.printf("drr 1:2:4 after a swap from rr: shares within 3%% from %d us after activation%n",
                microsUntilSharesHold(link.vms(), meter, weights, 100));
    }

    @Test
    void aWeightChangedLiveTakesEffectFromTheNextRound() {
        Random random = new Random(SEED);
        SimulatedLink link = new SimulatedLink(LINK_BYTES_PER_SECOND, 2);
        ShareMeter meter = new ShareMeter(2, MILLISECOND, 200);
        link.onDeparture(meter);
        SimQueue light = link.addVm("light");
        SimQueue heavy = link.addVm("heavy");
        link.bulk(light, mixedFrames(random));
        link.bulk(heavy, mixedFrames(random));
        link.swap(policy.newScheduler(2));
        link.at(100 * MILLISECOND, () -> {
            heavy.simSettings().weight(3);
            link.settingsChanged(heavy);
        });
        link.runUntil(200 * MILLISECOND);
        link.drain();

        assertSharesFollowWeights(link.vms(), meter, 0, 100, new int[] {1, 1});
        assertSharesFollowWeights(link.vms(), meter, 101, 200, new int[] {1, 3});
    }

    @Test
    void queuesThatComeAndGoNeverLoseOrReorderFramesAndIdleTimeEarnsNoCredit() {
        Random random = new Random(SEED);
        int vms = 16;
        SimulatedLink link = new SimulatedLink(LINK_BYTES_PER_SECOND, vms);
        ShareMeter meter = new ShareMeter(vms, MILLISECOND, 100);
        link.onDeparture(meter);
        for (int i = 0; i < vms; i++) {
            // Each VM offers 1/8 of the link in bursts: together twice what the link carries.
            link.periodic(link.addVm("vm" + i), i * 1000L, 57_600, 9000);
        }
        link.swap(policy.newScheduler(vms));
        link.swapAt(50 * MILLISECOND, policy.newScheduler(vms));
        link.runUntil(100 * MILLISECOND);
        link.drain();

        long[] bytes = link.vms().stream().mapToLong(q -> meter.bytes(q, 10, 100)).toArray();
        assertThat(ShareMeter.jain(bytes)).isGreaterThanOrEqualTo(0.99);
    }

    @Test
    void aQueueInDebtFromAnOvershootStillGetsEveryRoundsTurn() {
        Turn turn = new Turn();
        DeficitRoundRobinScheduler scheduler = new DeficitRoundRobinScheduler(4);
        SimulatedLink link = new SimulatedLink(LINK_BYTES_PER_SECOND, 2);
        SimQueue a = link.addVm("a");
        SimQueue b = link.addVm("b");
        scheduler.backlogged(a, 0);
        scheduler.backlogged(b, 0);

        assertThat(scheduler.next(0, turn)).isTrue();
        assertThat(turn.queue()).isSameAs(a);
        assertThat(turn.budgetBytes()).isEqualTo(DeficitRoundRobinScheduler.QUANTUM_BYTES);
        scheduler.sent(a, DeficitRoundRobinScheduler.QUANTUM_BYTES + 65_535, 0);

        assertThat(scheduler.next(0, turn)).isTrue();
        assertThat(turn.queue()).isSameAs(b);
        scheduler.sent(b, DeficitRoundRobinScheduler.QUANTUM_BYTES, 0);

        assertThat(scheduler.next(0, turn)).isTrue();
        assertThat(turn.queue()).isSameAs(a);
        assertThat(turn.budgetBytes()).isEqualTo(1);
    }

    @Test
    void anIdleQueueGetsNoTurnAndRejoinsWithoutItsOldDeficit() {
        Turn turn = new Turn();
        DeficitRoundRobinScheduler scheduler = new DeficitRoundRobinScheduler(4);
        SimulatedLink link = new SimulatedLink(LINK_BYTES_PER_SECOND, 2);
        SimQueue a = link.addVm("a");
        SimQueue b = link.addVm("b");
        assertThat(scheduler.next(0, turn)).isFalse();
        scheduler.backlogged(a, 0);
        scheduler.backlogged(b, 0);
        assertThat(scheduler.next(0, turn)).isTrue();
        scheduler.sent(a, 100, 0);
        scheduler.idle(a, 0);
        scheduler.idle(a, 0);
        for (int i = 0; i < 3; i++) {
            assertThat(scheduler.next(0, turn)).isTrue();
            assertThat(turn.queue()).isSameAs(b);
            scheduler.sent(b, turn.budgetBytes(), 0);
        }
        scheduler.backlogged(a, 0);
        scheduler.backlogged(a, 0);
        assertThat(scheduler.next(0, turn)).isTrue();
        assertThat(turn.queue()).as("a rejoins at the end of the round").isSameAs(b);
        scheduler.sent(b, turn.budgetBytes(), 0);
        assertThat(scheduler.next(0, turn)).isTrue();
        assertThat(turn.queue()).isSameAs(a);
        assertThat(turn.budgetBytes()).isEqualTo(DeficitRoundRobinScheduler.QUANTUM_BYTES);
        scheduler.idle(a, 0);
        scheduler.idle(b, 0);
        assertThat(scheduler.next(0, turn)).isFalse();
    }

    static void assertSharesFollowWeights(List<SimQueue> vms, ShareMeter meter, int from, int to, int[] weights) {
        double total = vms.stream().mapToLong(q -> meter.bytes(q, from, to)).sum();
        double weightSum = 0;
        for (int w : weights) {
            weightSum += w;
        }
        for (int i = 0; i < weights.length; i++) {
            double expected = weights[i] / weightSum;
            assertThat(meter.bytes(vms.get(i), from, to) / total / expected)
                    .as("share of %s relative to its weight %d", vms.get(i), weights[i])
                    .isCloseTo(1.0, within(0.03));
        }
    }

    /**
     * Simulated time from the swap until every later 40 ms window (about 50 rounds: shorter windows cut rounds
     * and miss 3% by that alone) holds the weighted shares within 3%.
     */
    private static long microsUntilSharesHold(List<SimQueue> vms, ShareMeter meter, int[] weights, int swapWindow) {
        int span = 40;
        int lastBad = swapWindow;
        for (int start = swapWindow; start + span <= 400; start++) {
            if (!sharesHold(vms, meter, start, start + span, weights)) {
                lastBad = start + 1;
            }
        }
        return (lastBad - swapWindow) * meter.windowNanos() / 1000;
    }

    private static boolean sharesHold(List<SimQueue> vms, ShareMeter meter, int from, int to, int[] weights) {
        try {
            assertSharesFollowWeights(vms, meter, from, to, weights);
            return true;
        } catch (AssertionError outside) {
            return false;
        }
    }
}
