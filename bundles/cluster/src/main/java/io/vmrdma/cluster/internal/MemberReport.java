package io.vmrdma.cluster.internal;

import java.io.Serializable;

/**
 * What a node says of itself every second, for {@code vmrdma:cluster} and rollouts: plain values only.
 *
 * @param memberUuid the Hazelcast member it is now, to tell a live node from a gone one
 * @param secret     the fingerprint of its cluster secret ({@link SecretFingerprint})
 * @param rollouts   the outcome of each rollout it took part in, one line each: {@code feature=request:outcome},
 *                   the outcome {@code installed} or {@code failed: reason}
 */
record MemberReport(int nodeId, String memberUuid, String address, String policy, int domains, long framesSent,
                    long framesReceived, String secret, String rollouts)
        implements
            Serializable {

    static final String REPORTS = "vmrdma.reports";
    private static final long serialVersionUID = 1L;

    /** This node's outcome of the rollout {@code request} of {@code feature}, or null if it has none yet. */
    String outcome(String feature, String request) {
        String prefix = feature + "=" + request + ":";
        for (String line : rollouts.split("\n")) {
            if (line.startsWith(prefix)) {
                return line.substring(prefix.length());
            }
        }
        return null;
    }
}
