package io.vmrdma.cluster.internal;

import java.io.Serializable;

/**
 * One rollout of a feature, as the cluster's map of wanted features holds it.
 *
 * @param id         new for every rollout, so a node installs again when the same feature is rolled out again
 * @param repository a features repository every node adds first (where a new version of the feature is), or null
 */
record RolloutRequest(String id, String repository) implements Serializable {

    private static final long serialVersionUID = 1L;
}
