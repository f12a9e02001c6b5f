package io.vmrdma.api;

/** Life cycle of a guest domain as the engine sees it through its backend. */
public enum DomainState {
    /** Known to the hypervisor; its frontend has not connected yet. */
    CREATED,
    /** Frontend and backend connected; the guest may post work. */
    CONNECTED,
    /** The backend is closing or closed; outstanding work is being flushed. */
    CLOSING,
    /** The domain has been destroyed; kept only until its counters have been read. */
    DESTROYED
}
