package io.vmrdma.xen.sim.internal;

/** An event-channel handle (an open {@code /dev/xen/evtchn}): ports are bound through it, and fire into it. */
interface EvtchnHandle {

    /** The domain the handle belongs to. */
    int domid();

    /** Queues a fired port for the handle's reader. Called with the event-channel lock held: must not block. */
    void deliver(int port);
}
