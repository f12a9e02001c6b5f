package io.vmrdma.xen.sim.internal;

/** An event-channel handle (an open {@code /dev/xen/evtchn}): the owner of the ports bound through it. */
interface EvtchnHandle {

    /** The domain the handle belongs to. */
    int domid();
}
