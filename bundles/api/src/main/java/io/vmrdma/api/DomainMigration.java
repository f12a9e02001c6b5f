package io.vmrdma.api;

import org.osgi.annotation.versioning.ConsumerType;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Moves a domain's vmrdma state (queue pairs, memory regions with their keys, completion queues, connections) to the
 * engine of another node, with its connections open: the operator's side of live migration. The hypervisor moves
 * the domain's memory; a migration that fails at any step leaves the domain running on this node as it was. Since
 * 0.9.0.
 */
@ProviderType
public interface DomainMigration {

    /**
     * Starts moving {@code domain} (its name, or its domid) to node {@code node}; {@code listener} hears how it goes,
     * on the engine's thread. A domain that is not here, or a node that is not an up peer, fails at once.
     */
    void migrate(String domain, int node, Listener listener);

    /** What a migration's requester hears, in order: paused (unless it fails before), then completed or failed. */
    @ConsumerType
    interface Listener {
        /** The domain is paused and its state, {@code stateBytes} long, is on its way. */
        void paused(int stateBytes);

        /** The domain runs on the destination; it was paused for {@code pauseNanos}. */
        void completed(long pauseNanos);

        /** The migration failed, for {@code reason}: the domain runs on here as before. */
        void failed(String reason);
    }
}
