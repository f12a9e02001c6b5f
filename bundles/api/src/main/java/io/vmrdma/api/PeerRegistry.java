package io.vmrdma.api;

import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The other nodes this node knows: its static peer table and the peers discovered on the link segment, with their
 * liveness, protocol version, round-trip time and traffic. Registered by the engine while it runs; answers from a
 * snapshot, never blocking the data path.
 *
 * <p>Since 0.2.0 of this package.
 */
@ProviderType
public interface PeerRegistry {

    /** Every peer, ordered by node id. */
    List<PeerInfo> peers();

    /** The peer with this node id, if it is in the table. */
    Optional<PeerInfo> byNode(int node);
}
