package io.vmrdma.api.verbs;

import org.osgi.annotation.versioning.ProviderType;

/** A completion queue of bounded depth, as {@code ibv_cq}. */
@ProviderType
public interface CompletionQueue {

    /** How many completions it holds before it overflows (an overflow is an asynchronous error, as in verbs). */
    int depth();

    /** Moves the oldest completion into {@code into}; false when the queue is empty. Never blocks. */
    boolean poll(WorkCompletion into);
}
