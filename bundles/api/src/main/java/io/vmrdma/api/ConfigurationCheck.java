package io.vmrdma.api;

import java.util.Map;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Vets a new configuration of one PID before the component it configures sees it. The engine consults every
 * registered check: a configuration a check refuses is not applied, the one in force stays (or, for a first
 * configuration, the component does not start), and the refusal is logged once with the check's message. A bundle
 * registers a check for the PIDs of its components whose settings cannot change in place (a NIC binding reopens its
 * socket), so that a typing error in {@code etc/} does not take the component away.
 *
 * @since 0.4.0
 */
@ConsumerType
public interface ConfigurationCheck {

    /** The configuration PID this check vets, such as {@code io.vmrdma.nic.packet}. */
    String pid();

    /**
     * Checks {@code properties} as Configuration Admin would deliver them (values may be strings from a file).
     *
     * @throws IllegalArgumentException with a message naming the key, the value and what is accepted
     */
    void check(Map<String, Object> properties);
}
