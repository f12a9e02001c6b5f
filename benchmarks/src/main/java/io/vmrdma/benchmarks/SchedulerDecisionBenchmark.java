package io.vmrdma.benchmarks;

import java.util.concurrent.TimeUnit;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.TransmitQueue;
import io.vmrdma.api.sched.Turn;
import io.vmrdma.api.sched.VmSettings;
import io.vmrdma.sched.drr.internal.DeficitRoundRobinPolicy;
import io.vmrdma.sched.priority.internal.StrictPriorityPolicy;
import io.vmrdma.sched.rr.internal.RoundRobinPolicy;
import io.vmrdma.sched.shaper.internal.TokenBucketShaper;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of one scheduling decision per frame: {@code next} then {@code sent} for one 9000-byte frame, with every
 * VM backlogged all the time, on a clock advanced by the frame's time on a 10 Gb/s link (no wall clock). One frame
 * per turn is the worst case for drr, whose turns normally carry many frames.
 *
 * <p>{@code shaper} is the shaper around drr with every VM capped at 90% of an equal share of the link, so queues
 * park and come back all the time; when none may send, the clock jumps to the next eligible time (that
 * call counts as a decision too). {@code priority} spreads the VMs over the eight levels with the default 5%
 * starvation guard. Run by {@link SchedulerReport}, which prints each policy beside rr at the same count.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
public class SchedulerDecisionBenchmark {

    static final long LINK_BYTES_PER_SECOND = 1_250_000_000L;
    static final int FRAME_BYTES = 9000;
    static final long FRAME_NANOS = FRAME_BYTES * 1_000_000_000L / LINK_BYTES_PER_SECOND;

    @Param({"1", "16", "256", "1024"})
    public int backloggedVms;

    @Param({"rr", "drr", "priority", "shaper"})
    public String policy;

    private Scheduler scheduler;
    private final Turn turn = new Turn();
    private long nowNanos;

    /** A VM that always has work, with fixed settings. */
    private record Vm(int slot, int weight, int priority, long rateBytesPerSecond, long burstBytes)
            implements TransmitQueue, VmSettings {
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
            return FRAME_BYTES;
        }

        @Override
        public VmSettings settings() {
            return this;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        scheduler = switch (policy) {
            case "rr" -> new RoundRobinPolicy().newScheduler(backloggedVms);
            case "drr" -> new DeficitRoundRobinPolicy().newScheduler(backloggedVms);
            case "priority" -> new StrictPriorityPolicy().newScheduler(backloggedVms);
            case "shaper" -> new TokenBucketShaper().wrap(new DeficitRoundRobinPolicy().newScheduler(backloggedVms),
                    backloggedVms);
            default -> throw new IllegalArgumentException(policy);
        };
        long cap = policy.equals("shaper") ? LINK_BYTES_PER_SECOND * 9 / 10 / backloggedVms : 0;
        for (int slot = 0; slot < backloggedVms; slot++) {
            scheduler.backlogged(new Vm(slot, 1 + slot % 4, slot % 8, cap, 64 * 1024), 0);
        }
    }

    @Benchmark
    public TransmitQueue decide() {
        if (!scheduler.next(nowNanos, turn)) {
            nowNanos = scheduler.nextEligibleNanos(nowNanos);
            return null;
        }
        TransmitQueue queue = turn.queue();
        nowNanos += FRAME_NANOS;
        scheduler.sent(queue, FRAME_BYTES, nowNanos);
        return queue;
    }
}
