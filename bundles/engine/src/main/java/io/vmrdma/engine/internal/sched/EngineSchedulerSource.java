package io.vmrdma.engine.internal.sched;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.VmSettings;
import io.vmrdma.engine.internal.verbs.SchedulerSource;

/** The running node's scheduler source: the policy selection and the per-VM settings book. */
public final class EngineSchedulerSource implements SchedulerSource {

    private final PolicySelector policies;
    private final DomainSettingsBook settings;

    public EngineSchedulerSource(PolicySelector policies, DomainSettingsBook settings) {
        this.policies = policies;
        this.settings = settings;
    }

    @Override
    public long generation() {
        return policies.generation();
    }

    @Override
    public Scheduler newScheduler(int capacity) {
        return policies.newScheduler(capacity);
    }

    @Override
    public long settingsGeneration() {
        return settings.generation();
    }

    @Override
    public VmSettings settings(String domainName) {
        return settings.settings(domainName);
    }
}
