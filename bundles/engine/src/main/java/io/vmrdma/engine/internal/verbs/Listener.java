package io.vmrdma.engine.internal.verbs;

/** A device listening on a service id, and how many connection requests wait for its accept or reject. */
final class Listener {

    private final DeviceVerbs device;
    private final long serviceId;
    private int waiting;

    Listener(DeviceVerbs device, long serviceId) {
        this.device = device;
        this.serviceId = serviceId;
    }

    DeviceVerbs device() {
        return device;
    }

    long serviceId() {
        return serviceId;
    }

    /** Requests that wait for this listener's answer: its backlog. */
    int waiting() {
        return waiting;
    }

    void requestArrived() {
        waiting++;
    }

    /** A request no longer waits: it was answered, it expired, or its requester went away. */
    void requestGone() {
        waiting--;
    }
}
