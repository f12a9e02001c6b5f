package io.vmrdma.api;

import java.util.Map;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/**
 * One vmrdma node: the protocol engine running in the dom0 of one host.
 *
 * <p>Registered by the engine while it runs. Every accessor answers from state the engine already holds, so
 * calling it from the console never blocks the data path.
 */
@ProviderType
public interface Node {

    /** Version of the wire and guest protocols this node speaks; peers with another version are refused. */
    int PROTOCOL_VERSION = 1;

    /** The cluster-wide id of this node, from configuration ({@code io.vmrdma.engine}, {@code nodeId}). */
    int nodeId();

    /** The NIC binding frames leave through, by its {@link io.vmrdma.api.nic.NicPort#binding() binding name}, if one is bound. */
    Optional<String> nicBinding();

    /** The Xen access in use: {@code "sim"}, {@code "native"}, or empty when none is bound. */
    Optional<String> hypervisor();

    /**
     * The installed ordering scheduler policy in charge, by name; empty while the engine's built-in round-robin
     * stands in because the configured policy is not installed or failed to start.
     */
    Optional<String> activePolicy();

    /**
     * The node's value of one counter: the sum over its domains, plus what belongs to no domain (frames, peers).
     * Since 0.3.0.
     */
    long counter(Counter counter);

    /**
     * The bound NIC binding's own counts, by name, in the binding's order: frames it dropped before the engine saw
     * them and calls the kernel failed ({@link io.vmrdma.api.nic.NicPort#bindingCounters()}); empty when no binding
     * is bound. Since 0.5.0.
     */
    Map<String, Long> nicCounters();

    /**
     * Whether frames to and from other nodes carry a tag from the cluster secret ({@code auth = on}, the default)
     * and are refused without one; false for a fabric run with {@code auth = off}. Since 0.6.0.
     */
    default boolean framesAuthenticated() {
        return false;
    }

    /** Whether HELLOs find nodes beyond the static peer table ({@code discovery = on}, the default). Since 0.6.0. */
    default boolean discovery() {
        return true;
    }

    /**
     * Whether the engine stays off the wire (sends nothing, answers nothing) until its cluster confirms that this
     * node holds its id ({@code nodeIdConfirmedBy = cluster}, not confirmed yet). Since 0.10.0.
     */
    default boolean awaitingNodeId() {
        return false;
    }
}
