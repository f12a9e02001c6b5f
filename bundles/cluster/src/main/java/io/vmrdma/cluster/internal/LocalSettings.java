package io.vmrdma.cluster.internal;

import java.util.Map;

/** This node's own copy of the shared settings: Configuration Admin in Karaf, kept in {@code etc/}. */
interface LocalSettings {

    /** The shared keys of {@code pid} as this node holds them now. */
    Map<String, String> shared(String pid);

    /** Makes this node's shared keys of {@code pid} exactly {@code values}, leaving its local keys alone. */
    void replaceShared(String pid, Map<String, String> values);

    /**
     * Why this node's components would refuse {@code pid} with its shared keys {@code values} (its local keys as
     * they are), or null if they would take it.
     */
    String refusal(String pid, Map<String, String> values);
}
