package io.vmrdma.engine.internal;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import io.vmrdma.api.sched.SchedulingPolicy;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scheduling policies that are installed, and which one is in charge: the configured one when it is
 * available, none otherwise. Policies come and go with their bundles, so every change re-evaluates the choice.
 */
@Component(service = PolicySelector.class, configurationPid = "io.vmrdma.sched")
@Designate(ocd = SchedulingConfig.class)
public final class PolicySelector {

    private static final Logger LOG = LoggerFactory.getLogger(PolicySelector.class);

    private final Map<String, SchedulingPolicy> available = new TreeMap<>();
    private String configured;
    private SchedulingPolicy active;

    @Activate
    @Modified
    void configure(SchedulingConfig config) {
        configure(config.policy());
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

    synchronized void configure(String name) {
        configured = name;
        reselect();
    }

    synchronized Optional<SchedulingPolicy> active() {
        return Optional.ofNullable(active);
    }

    private void reselect() {
        SchedulingPolicy chosen = configured == null ? null : available.get(configured);
        if (chosen != active) {
            if (chosen != null) {
                LOG.info("scheduling policy '{}' is active", chosen.name());
            } else {
                LOG.warn("scheduling policy '{}' is configured but not installed; no policy is active", configured);
            }
        }
        active = chosen;
    }
}
