package io.vmrdma.engine.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.SchedulingPolicy;
import org.junit.jupiter.api.Test;

class PolicySelectorTest {

    private record Named(String name) implements SchedulingPolicy {
        @Override
        public String description() {
            return name;
        }

        @Override
        public Scheduler newScheduler(int capacity) {
            throw new UnsupportedOperationException("not scheduled in this test");
        }
    }

    private final PolicySelector registry = new PolicySelector();

    @Test
    void theConfiguredPolicyIsActiveOnlyWhileItIsInstalled() {
        registry.configure("drr");
        assertThat(registry.active()).isEmpty();

        Named rr = new Named("rr");
        Named drr = new Named("drr");
        registry.add(rr);
        assertThat(registry.active()).isEmpty();
        registry.add(drr);
        assertThat(registry.active()).contains(drr);

        registry.remove(drr);
        assertThat(registry.active()).isEmpty();
        registry.configure("rr");
        assertThat(registry.active()).contains(rr);
    }

    @Test
    void removingAStaleInstanceKeepsItsReplacement() {
        registry.configure("rr");
        Named first = new Named("rr");
        Named second = new Named("rr");
        registry.add(first);
        registry.add(second);
        registry.remove(first);
        assertThat(registry.active()).contains(second);
    }
}
