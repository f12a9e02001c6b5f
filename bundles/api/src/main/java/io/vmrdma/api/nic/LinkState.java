package io.vmrdma.api.nic;

/** Whether a port can currently carry frames. */
public enum LinkState {
    /** The interface is up and has carrier. */
    UP,
    /** The interface is down, has no carrier, or is gone; frames claimed now are dropped by the binding. */
    DOWN
}
