package io.vmrdma.api.cluster;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The cluster's word that this node holds a node id: registered by the cluster member once its claim of the id
 * succeeded on a side of the network with a majority of the members, so no other member holds it. Peers pin a node id
 * to the link address they first hear it from; an engine configured with {@code nodeIdConfirmedBy = cluster} sends
 * and answers nothing until a confirmation of its own id is registered, so no host announces an id the cluster then
 * gives to another.
 */
@ProviderType
public interface NodeIdConfirmation {

    /** The node id the cluster confirmed this node holds. */
    int nodeId();
}
