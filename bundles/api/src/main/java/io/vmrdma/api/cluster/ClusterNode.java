package io.vmrdma.api.cluster;

/**
 * One node of the cluster as its own last report says.
 *
 * @param nodeId        the node id the cluster assigned it (unique, kept across restarts)
 * @param address       the address its cluster member listens on
 * @param state         whether it is this node, a live member or gone
 * @param policy        the ordering policy in charge there, as {@code vmrdma:status} says it
 * @param domains       how many guest domains it hosts
 * @param framesSent    frames it put on the wire
 * @param framesReceived frames it took off the wire
 * @param secret         a short fingerprint of its cluster secret (never the secret), {@code none} without one:
 *                       nodes whose fingerprints differ refuse each other's frames
 */
public record ClusterNode(int nodeId, String address, State state, String policy, int domains, long framesSent,
                          long framesReceived, String secret) {

    /** A node's standing in the cluster as this node sees it. */
    public enum State {
        /** The node answering the console. */
        SELF,
        /** A live member. */
        UP,
        /** It holds a node id but is no member now: stopped, killed or on the other side of a split. */
        GONE
    }
}
