package io.vmrdma.engine.internal.verbs;

/**
 * What a domain's consumer of completions and connection events (its backend) asks before looking for them: whether
 * any were added since it last looked, so that an idle domain costs a read, not a walk over its queues.
 */
public interface EventSource {

    /** How many completions and connection events were added to this domain's queues so far; only ever grows. */
    long eventsAdded();
}
