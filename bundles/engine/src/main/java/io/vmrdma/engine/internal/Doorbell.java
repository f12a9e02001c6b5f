package io.vmrdma.engine.internal;

/**
 * What wakes the data agent when it sleeps: the guests' event channels. Xen's backends sleep the same way: with the
 * rings empty they ask each frontend to notify on its next request (ring.h's final check) and wait for the event.
 */
public interface Doorbell {

    /** Whether any guest's device has a backend here: only they ring it; without one the agent waits elsewhere. */
    boolean hasDevices();

    /** Asks every guest to notify on its next request; false when one came meanwhile (then there is work, no sleep). */
    boolean arm();

    /**
     * Whether guests served last sleep on their event channels (they asked to be notified) rather than poll: then
     * they left their cores free, and the agent may spin on one for a while before it sleeps.
     */
    boolean guestsSleep();

    /** Sleeps up to {@code maxNanos} or until a guest notifies; true when a notification ended the sleep. */
    boolean await(long maxNanos);

    /**
     * A descriptor that has something to read while a guest's notification is pending, to sleep on beside the NIC's
     * socket (then {@code await(0)} takes the notification); -1 when there is none.
     */
    default int pollFd() {
        return -1;
    }
}
