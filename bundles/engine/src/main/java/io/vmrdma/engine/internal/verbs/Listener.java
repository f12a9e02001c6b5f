package io.vmrdma.engine.internal.verbs;

/** A domain listening on a service id, and how many connection requests wait for its accept or reject. */
final class Listener {

    private final DomainVerbs domain;
    private final long serviceId;
    private int waiting;

    Listener(DomainVerbs domain, long serviceId) {
        this.domain = domain;
        this.serviceId = serviceId;
    }

    DomainVerbs domain() {
        return domain;
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
