package io.vmrdma.api.sched;

import java.io.IOException;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The operator's handle on scheduling, registered by the engine for the console: which policies are installed and
 * in charge, the shaper switch, and the per-VM settings keyed by domain name.
 *
 * <p>Changes go through Configuration Admin (PIDs {@code io.vmrdma.sched} and {@code io.vmrdma.sched.vm}), so
 * they are persisted in the distribution's {@code etc/} and applied live. Values arrive as the operator typed
 * them; a value that is not valid is refused with an {@link IllegalArgumentException} whose message says why and
 * what is accepted, and the settings in force stay as they were.
 */
@ProviderType
public interface SchedulingControl {

    /** The installed ordering policies: name to one-line description. */
    SortedMap<String, String> orderingPolicies();

    /** The installed shaper's description, empty when no shaper bundle is installed. */
    Optional<String> shaper();

    /** The ordering policy named in configuration, installed or not. */
    String configuredPolicy();

    /**
     * The installed ordering policy in charge; empty while the engine's built-in round-robin stands in because the
     * configured one is not installed (or failed to start).
     */
    Optional<String> activePolicy();

    /** Whether configuration switches the shaper on (it shapes only while a shaper bundle is installed). */
    boolean shaperEnabled();

    /**
     * Makes {@code policy} the ordering policy in charge by updating configuration.
     *
     * @throws IllegalArgumentException when no ordering policy of that name is installed
     * @throws IOException when Configuration Admin cannot store the change
     */
    void activate(String policy) throws IOException;

    /** Switches the shaper on or off by updating configuration. */
    void enableShaper(boolean on) throws IOException;

    /** The domain names that have settings of their own in configuration. */
    SortedSet<String> configuredDomains();

    /** The settings in force for a domain: its own, or the defaults for the values it does not set. */
    VmSettings settings(String domainName);

    /**
     * Sets a domain's weight.
     *
     * @param weight a whole number, 1 to 1000
     * @return the settings now in force for the domain
     */
    VmSettings updateWeight(String domainName, String weight) throws IOException;

    /**
     * Sets a domain's strict-priority level.
     *
     * @param level 0 (highest) to {@link VmSettings#LOWEST_PRIORITY}
     * @return the settings now in force for the domain
     */
    VmSettings updatePriority(String domainName, String level) throws IOException;

    /**
     * Sets a domain's rate cap and, optionally, its burst.
     *
     * @param rate bytes per second with an optional unit ({@code 100M}, {@code 1.5G}, {@code 512Ki}: K, M, G, T
     *             are powers of 1000, Ki, Mi, Gi, Ti powers of 1024), or {@code 0}/{@code none} for no cap
     * @param burst bytes with the same units, or {@code null} to keep the burst configured (or its default)
     * @return the settings now in force for the domain
     */
    VmSettings updateRate(String domainName, String rate, String burst) throws IOException;
}
