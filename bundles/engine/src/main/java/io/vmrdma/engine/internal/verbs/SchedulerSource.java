package io.vmrdma.engine.internal.verbs;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.VmSettings;

/**
 * Where the engine gets its scheduler and the operator's per-VM settings: the policy selection and the settings
 * book in the running node, something fixed in tests. Read by the data agent once per duty cycle.
 */
public interface SchedulerSource {

    /** Moves whenever {@link #newScheduler} would build a different scheduler (a policy swap, the shaper switched). */
    long generation();

    /** A scheduler for queues whose slots are below {@code capacity}. */
    Scheduler newScheduler(int capacity);

    /** Moves whenever any VM's settings change. */
    long settingsGeneration();

    /** The settings of the VM named {@code domainName}; defaults when the operator set none. */
    VmSettings settings(String domainName);

    /** The built-in round-robin and default settings: what the engine runs with until told otherwise. */
    static SchedulerSource builtin() {
        VmSettings defaults = new VmSettings() {
            @Override
            public int weight() {
                return 1;
            }

            @Override
            public int priority() {
                return 4;
            }

            @Override
            public long rateBytesPerSecond() {
                return 0;
            }

            @Override
            public long burstBytes() {
                return 0;
            }
        };
        return new SchedulerSource() {
            @Override
            public long generation() {
                return 0;
            }

            @Override
            public Scheduler newScheduler(int capacity) {
                return new FallbackScheduler(capacity);
            }

            @Override
            public long settingsGeneration() {
                return 0;
            }

            @Override
            public VmSettings settings(String domainName) {
                return defaults;
            }
        };
    }
}
