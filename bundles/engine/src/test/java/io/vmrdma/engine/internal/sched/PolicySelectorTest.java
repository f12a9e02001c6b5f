package io.vmrdma.engine.internal.sched;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.SchedulingPolicy;
import io.vmrdma.api.sched.TransmitShaper;
import io.vmrdma.api.sched.Turn;
import io.vmrdma.engine.internal.verbs.FallbackScheduler;
import io.vmrdma.sched.testkit.ShareMeter;
import io.vmrdma.sched.testkit.SimulatedLink;
import org.junit.jupiter.api.Test;

class PolicySelectorTest {

    /** A policy whose schedulers are the fallback's, so the tests can tell them apart by identity. */
    private record Named(String name) implements SchedulingPolicy {
        @Override
        public String description() {
            return "policy " + name;
        }

        @Override
        public Scheduler newScheduler(int capacity) {
            return new Tagged(this, new FallbackScheduler(capacity));
        }
    }

    private record Tagged(Object by, Scheduler inner) implements Scheduler {
        @Override
        public void backlogged(io.vmrdma.api.sched.TransmitQueue queue, long nowNanos) {
            inner.backlogged(queue, nowNanos);
        }

        @Override
        public void idle(io.vmrdma.api.sched.TransmitQueue queue, long nowNanos) {
            inner.idle(queue, nowNanos);
        }

        @Override
        public boolean next(long nowNanos, Turn turn) {
            return inner.next(nowNanos, turn);
        }

        @Override
        public void sent(io.vmrdma.api.sched.TransmitQueue queue, long bytes, long nowNanos) {
            inner.sent(queue, bytes, nowNanos);
        }
    }

    private record Shaper() implements TransmitShaper {
        @Override
        public String description() {
            return "test shaper";
        }

        @Override
        public Scheduler wrap(Scheduler ordering, int capacity) {
            return new Tagged(this, ordering);
        }
    }

    private final PolicySelector selector = new PolicySelector();

    @Test
    void theConfiguredPolicyIsInChargeOnlyWhileItIsInstalledAndTheBuiltInStandsInOtherwise() {
        selector.configure("drr", false);
        assertThat(selector.active()).isEmpty();
        assertThat(selector.newScheduler(8)).isInstanceOf(FallbackScheduler.class);

        Named rr = new Named("rr");
        Named drr = new Named("drr");
        selector.add(rr);
        assertThat(selector.active()).isEmpty();
        long before = selector.generation();
        selector.add(drr);
        assertThat(selector.active()).contains(drr);
        assertThat(selector.generation()).isGreaterThan(before);
        assertThat(((Tagged) selector.newScheduler(8)).by()).isSameAs(drr);
        assertThat(selector.available()).containsOnlyKeys("drr", "rr").containsEntry("drr", "policy drr");

        before = selector.generation();
        selector.remove(drr);
        assertThat(selector.active()).isEmpty();
        assertThat(selector.generation()).isGreaterThan(before);
        assertThat(selector.newScheduler(8)).isInstanceOf(FallbackScheduler.class);
        selector.configure("rr", false);
        assertThat(selector.active()).contains(rr);
        assertThat(selector.configured()).isEqualTo("rr");
    }

    @Test
    void removingAStaleInstanceKeepsItsReplacement() {
        selector.configure("rr", false);
        Named first = new Named("rr");
        Named second = new Named("rr");
        selector.add(first);
        selector.add(second);
        selector.remove(first);
        assertThat(selector.active()).contains(second);
    }

    @Test
    void aPolicyThatFailsToStartLeavesTheCurrentOneInCharge() {
        Named rr = new Named("rr");
        SchedulingPolicy broken = new SchedulingPolicy() {
            @Override
            public String name() {
                return "broken";
            }

            @Override
            public String description() {
                return "cannot build schedulers";
            }

            @Override
            public Scheduler newScheduler(int capacity) {
                throw new IllegalStateException("missing native library");
            }
        };
        selector.configure("rr", false);
        selector.add(rr);
        selector.add(broken);
        long before = selector.generation();
        selector.configure("broken", false);
        assertThat(selector.active()).contains(rr);
        assertThat(selector.generation()).isEqualTo(before);
    }

    @Test
    void theShaperWrapsWhicheverSchedulerIsInChargeWhileItIsOnAndInstalled() {
        Named rr = new Named("rr");
        Shaper shaper = new Shaper();
        selector.configure("rr", true);
        selector.add(rr);
        assertThat(((Tagged) selector.newScheduler(4)).by()).as("on, but not installed").isSameAs(rr);

        long before = selector.generation();
        selector.addShaper(shaper);
        assertThat(selector.generation()).isGreaterThan(before);
        Tagged shaped = (Tagged) selector.newScheduler(4);
        assertThat(shaped.by()).isSameAs(shaper);
        assertThat(((Tagged) shaped.inner()).by()).isSameAs(rr);

        selector.remove(rr);
        Tagged overFallback = (Tagged) selector.newScheduler(4);
        assertThat(overFallback.by()).isSameAs(shaper);
        assertThat(overFallback.inner()).isInstanceOf(FallbackScheduler.class);

        selector.configure("rr", false);
        assertThat(selector.newScheduler(4)).isInstanceOf(FallbackScheduler.class);
        assertThat(selector.shaper()).contains(shaper);
        assertThat(selector.shaperEnabled()).isFalse();
        selector.removeShaper(shaper);
        assertThat(selector.shaper()).isEmpty();
    }

    @Test
    void trafficSwappedToTheBuiltInAndBackLosesNothingAndSharesTurnsFairly() {
        Named drr = new Named("drr");
        selector.configure("drr", false);
        selector.add(drr);
        int vms = 24;
        long millisecond = 1_000_000L;
        Random random = new Random(8);
        SimulatedLink link = new SimulatedLink(1_250_000_000L, 2 * vms);
        ShareMeter meter = new ShareMeter(2 * vms, millisecond, 60);
        link.onDeparture(meter);
        for (int i = 0; i < vms; i++) {
            link.bulk(link.addVm("vm" + i), () -> 9000);
            link.periodic(link.addVm("sparse" + i), random.nextInt(100_000), 50_000 + random.nextInt(50_000), 1500);
        }
        link.swap(selector.newScheduler(2 * vms));
        link.at(20 * millisecond, () -> {
            selector.remove(drr);
            link.swap(selector.newScheduler(2 * vms));
        });
        link.at(40 * millisecond, () -> {
            selector.add(drr);
            link.swap(selector.newScheduler(2 * vms));
        });
        link.runUntil(60 * millisecond);
        link.drain();

        long[] bulk = link.vms().stream().filter(q -> q.domainName().startsWith("vm"))
                .mapToLong(q -> meter.bytes(q, 21, 40)).toArray();
        assertThat(ShareMeter.jain(bulk)).isGreaterThanOrEqualTo(0.99);
    }
}
