package io.vmrdma.engine.internal.sched;

import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.SchedulingPolicy;
import io.vmrdma.api.sched.TransmitShaper;
import io.vmrdma.engine.internal.verbs.FallbackScheduler;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scheduling policies that are installed, which one is in charge, and whether the shaper wraps it. The
 * configured policy is in charge while it is installed and starts; otherwise the engine's built-in
 * {@link FallbackScheduler round-robin} stands in, so traffic never waits for a policy bundle. Policies and the
 * shaper come and go with their bundles, so every change re-evaluates the choice.
 *
 * <p>The data agent builds its scheduler with {@link #newScheduler} and polls {@link #generation()} once per duty
 * cycle: when it moves, the agent builds a new scheduler, reports every backlogged queue to it and drops the old
 * one, on its own thread, between two turns. Nothing queued is touched, so a swap loses, duplicates and reorders
 * nothing; schedulers already built by a policy whose bundle has gone keep working until that swap.
 */
@Component(service = PolicySelector.class, configurationPid = "io.vmrdma.sched")
@Designate(ocd = SchedulingConfig.class)
public final class PolicySelector {

    private static final Logger LOG = LoggerFactory.getLogger(PolicySelector.class);

    private final Map<String, SchedulingPolicy> available = new TreeMap<>();
    private String configured;
    private boolean shaperEnabled;
    private TransmitShaper shaper;
    private SchedulingPolicy active;
    private TransmitShaper wrapping;
    private boolean shaperMissing;
    private volatile long generation;

    @Activate
    @Modified
    void configure(Map<String, Object> properties) {
        SchedulingSettings settings;
        try {
            settings = SchedulingSettings.parse(properties);
        } catch (IllegalArgumentException e) {
            LOG.error("configuration io.vmrdma.sched refused, previous settings stay: {}", e.getMessage());
            return;
        }
        configure(settings.policy(), settings.shaper());
    }

    @Reference(name = "policy", unbind = "remove", cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC)
    synchronized void add(SchedulingPolicy policy) {
        available.put(policy.name(), policy);
        reselect();
    }

    synchronized void remove(SchedulingPolicy policy) {
        // By identity: a replacement registered under the same name before the old one left must stay.
        if (available.get(policy.name()) == policy) {
            available.remove(policy.name());
        }
        reselect();
    }

    @Reference(name = "shaper", unbind = "removeShaper", cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    synchronized void addShaper(TransmitShaper candidate) {
        shaper = candidate;
        reselect();
    }

    synchronized void removeShaper(TransmitShaper gone) {
        if (shaper == gone) {
            shaper = null;
            reselect();
        }
    }

    synchronized void configure(String policy, boolean shaperOn) {
        configured = policy;
        shaperEnabled = shaperOn;
        reselect();
    }

    /** The installed policy in charge; empty while the built-in round-robin stands in. */
    public synchronized Optional<SchedulingPolicy> active() {
        return Optional.ofNullable(active);
    }

    /** The installed ordering policies, name to description. */
    synchronized SortedMap<String, String> available() {
        SortedMap<String, String> descriptions = new TreeMap<>();
        available.forEach((name, policy) -> descriptions.put(name, policy.description()));
        return Collections.unmodifiableSortedMap(descriptions);
    }

    synchronized String configured() {
        return configured;
    }

    synchronized boolean shaperEnabled() {
        return shaperEnabled;
    }

    synchronized Optional<TransmitShaper> shaper() {
        return Optional.ofNullable(shaper);
    }

    /** Moves whenever the scheduler {@link #newScheduler} builds would differ from the last one. */
    long generation() {
        return generation;
    }

    /**
     * A scheduler for queues with slots below {@code capacity}: the policy in charge (or the built-in
     * round-robin), wrapped by the shaper when it is on and installed. Called by the data agent.
     */
    synchronized Scheduler newScheduler(int capacity) {
        Scheduler ordering = orderingScheduler(capacity);
        if (wrapping == null) {
            return ordering;
        }
        try {
            return wrapping.wrap(ordering, capacity);
        } catch (RuntimeException e) {
            LOG.warn("the shaper failed to wrap the scheduler, running without rate caps: {}", e.toString());
            return ordering;
        }
    }

    private Scheduler orderingScheduler(int capacity) {
        if (active != null) {
            try {
                return active.newScheduler(capacity);
            } catch (RuntimeException e) {
                LOG.warn("scheduling policy '{}' failed to build a scheduler, the built-in round-robin stands in: {}",
                        active.name(), e.toString());
            }
        }
        return new FallbackScheduler(capacity);
    }

    private void reselect() {
        SchedulingPolicy chosen = configured == null ? null : available.get(configured);
        if (chosen != null && chosen != active && !starts(chosen)) {
            chosen = active != null && available.get(active.name()) == active ? active : null;
        }
        if (chosen != active) {
            if (chosen != null) {
                LOG.info("scheduling policy '{}' is in charge", chosen.name());
            } else if (configured == null || !available.containsKey(configured)) {
                LOG.warn("scheduling policy '{}' is configured but not installed; the built-in round-robin is in"
                        + " charge until it is", configured);
            } else {
                LOG.warn("the built-in round-robin is in charge");
            }
        }
        TransmitShaper wrapper = shaperEnabled ? shaper : null;
        boolean missing = shaperEnabled && shaper == null;
        if (missing && !shaperMissing) {
            LOG.warn("the shaper is switched on but its bundle is not installed; rate caps are off until it is");
        } else if ((wrapper == null) != (wrapping == null)) {
            LOG.info("the shaper is {}", wrapper != null ? "on" : "off");
        }
        if (chosen != active || wrapper != wrapping) {
            generation++;
        }
        active = chosen;
        wrapping = wrapper;
        shaperMissing = missing;
    }

    /** Whether {@code policy} builds a scheduler at all; says why not in the log. */
    private boolean starts(SchedulingPolicy policy) {
        try {
            policy.newScheduler(1);
            return true;
        } catch (RuntimeException e) {
            LOG.warn("scheduling policy '{}' failed to start and is not put in charge{}: {}", policy.name(),
                    active == null ? "" : "; '" + active.name() + "' stays", e.toString());
            return false;
        }
    }
}
