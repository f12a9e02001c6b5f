package io.vmrdma.sched.priority.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.IntSupplier;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.Turn;
import io.vmrdma.sched.rr.internal.RoundRobinPolicy;
import io.vmrdma.sched.testkit.ShareMeter;
import io.vmrdma.sched.testkit.SimQueue;
import io.vmrdma.sched.testkit.SimSettings;
import io.vmrdma.sched.testkit.SimulatedLink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StrictPrioritySchedulerTest {

    private static final long LINK_BYTES_PER_SECOND = 1_250_000_000L;
    private static final long MILLISECOND = 1_000_000L;
    private static final long SEED = 8L;
    private static final int JUMBO = 9000;
    private static final int SMALL = 1500;

    private final StrictPriorityPolicy policy = new StrictPriorityPolicy();

    private static IntSupplier mixedFrames(Random random) {
        return () -> 64 + random.nextInt(JUMBO - 64 + 1);
    }

    private static long nanosOnWire(int bytes) {
        return bytes * 1_000_000_000L / LINK_BYTES_PER_SECOND;
    }

    /** The largest queueing delay (arrival to first byte on the wire) of the high-level VM's frames. */
    private long worstDelayOfTheHighLevel(int bulkVms, Scheduler first, Scheduler second) {
        SimulatedLink link = new SimulatedLink(LINK_BYTES_PER_SECOND, bulkVms + 1);
        SimQueue high = link.addVm("high", new SimSettings().priority(0));
        long[] worst = new long[1];
        link.onDeparture((queue, bytes, arrived, left) -> {
            if (queue == high) {
                worst[0] = Math.max(worst[0], left - nanosOnWire(bytes) - arrived);
            }
        });
        link.periodic(high, 3_001, 100_003, SMALL);
        for (int i = 0; i < bulkVms; i++) {
            link.bulk(link.addVm("bulk" + i, new SimSettings().priority(7)), () -> JUMBO);
        }
        link.swap(first);
        link.swapAt(50 * MILLISECOND, second);
        link.runUntil(100 * MILLISECOND);
        link.drain();
        assertThat(high.departedFrames()).isGreaterThan(990);
        return worst[0];
    }

    @ParameterizedTest(name = "{0} bulk VMs below")
    @ValueSource(ints = {1, 8, 32})
    void theHighLevelWaitsAtMostTheFrameOnTheWireAndOneGuardFrameWhateverTheBulkBelowIt(int bulkVms) {
        long alone = worstDelayOfTheHighLevel(0, policy.newScheduler(1), policy.newScheduler(1));
        long underBulk = worstDelayOfTheHighLevel(bulkVms, policy.newScheduler(bulkVms + 1),
                policy.newScheduler(bulkVms + 1));
        assertThat(alone).isZero();
        assertThat(underBulk).isLessThanOrEqualTo(2 * nanosOnWire(JUMBO));

        long roundRobin = worstDelayOfTheHighLevel(bulkVms, new RoundRobinPolicy().newScheduler(bulkVms + 1),
                new RoundRobinPolicy().newScheduler(bulkVms + 1));
        assertThat(roundRobin).as("without priorities the delay grows with the bulk")
                .isGreaterThanOrEqualTo(bulkVms * nanosOnWire(JUMBO) / 2);
    }

    private record GuardRun(double lowerShare, long level3, long level7) {
    }

    private GuardRun runWithGuard(int percent) {
        policy.guardPercent(percent);
        Random random = new Random(SEED + percent);
        SimulatedLink link = new SimulatedLink(LINK_BYTES_PER_SECOND, 4);
        ShareMeter meter = new ShareMeter(4, MILLISECOND, 300);
        link.onDeparture(meter);
        List<SimQueue> top = new ArrayList<>();
        top.add(link.addVm("top-a", new SimSettings().priority(0)));
        top.add(link.addVm("top-b", new SimSettings().priority(0)));
        SimQueue level3 = link.addVm("level3", new SimSettings().priority(3));
        SimQueue level7 = link.addVm("level7", new SimSettings().priority(7));
        for (SimQueue q : link.vms()) {
            link.bulk(q, mixedFrames(random));
        }
        link.swap(new RoundRobinPolicy().newScheduler(4));
        link.swapAt(50 * MILLISECOND, policy.newScheduler(4));
        link.runUntil(300 * MILLISECOND);
        link.drain();

        long lower = meter.bytes(level3, 60, 300) + meter.bytes(level7, 60, 300);
        long all = lower + top.stream().mapToLong(q -> meter.bytes(q, 60, 300)).sum();
        return new GuardRun((double) lower / all, meter.bytes(level3, 60, 300), meter.bytes(level7, 60, 300));
    }

    @ParameterizedTest(name = "guard {0}%")
    @ValueSource(ints = {5, 10, 30})
    void theStarvationGuardGivesTheLowerLevelsTheConfiguredFloorInRotation(int percent) {
        GuardRun run = runWithGuard(percent);
        assertThat(run.lowerShare() / (percent / 100.0)).as("lower levels' share relative to the floor")
                .isCloseTo(1.0, within(0.03));
        assertThat((double) run.level3() / run.level7()).isCloseTo(1.0, within(0.1));
    }

    @Test
    void withoutAGuardTheLowerLevelsWaitWhileAHigherLevelIsBusy() {
        assertThat(runWithGuard(0).lowerShare()).isZero();
    }

    @Test
    void anInvalidGuardIsRefusedAndTheOldOneStays() {
        policy.guardPercent(20);
        policy.guardPercent(51);
        policy.guardPercent(-1);
        assertThat(policy.guardPerMille()).isEqualTo(200);
        assertThat(policy.description()).contains("20%");
    }

    @Test
    void aLevelChangedLiveMovesTheQueueAndStaleEntriesAreSkipped() {
        Scheduler scheduler = policy.newScheduler(4);
        Turn turn = new Turn();
        SimulatedLink link = new SimulatedLink(LINK_BYTES_PER_SECOND, 3);
        SimQueue a = link.addVm("a", new SimSettings().priority(2));
        SimQueue b = link.addVm("b", new SimSettings().priority(4));
        assertThat(scheduler.next(0, turn)).isFalse();
        scheduler.backlogged(a, 0);
        scheduler.backlogged(b, 0);
        policy.guardPercent(0);
        assertThat(scheduler.next(0, turn)).isTrue();
        assertThat(turn.queue()).isSameAs(a);
        assertThat(turn.budgetBytes()).as("one frame per turn").isZero();

        b.simSettings().priority(1);
        scheduler.settingsChanged(b);
        assertThat(scheduler.next(0, turn)).isTrue();
        assertThat(turn.queue()).isSameAs(b);

        b.simSettings().priority(4);
        scheduler.settingsChanged(b);
        b.simSettings().priority(1);
        scheduler.settingsChanged(b);
        scheduler.idle(b, 0);
        scheduler.idle(b, 0);
        assertThat(scheduler.next(0, turn)).isTrue();
        assertThat(turn.queue()).isSameAs(a);

        scheduler.idle(a, 0);
        assertThat(scheduler.next(0, turn)).isFalse();
        scheduler.backlogged(b, 0);
        scheduler.backlogged(b, 0);
        assertThat(scheduler.next(0, turn)).isTrue();
        assertThat(turn.queue()).isSameAs(b);
        assertThat(scheduler.next(0, turn)).isTrue();
        assertThat(turn.queue()).isSameAs(b);
    }
}
