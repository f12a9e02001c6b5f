package io.vmrdma.api.verbs;

import org.osgi.annotation.versioning.ProviderType;

/** A reliable connected queue pair, as {@code ibv_qp} of type RC. */
@ProviderType
public interface QueuePair {

    /** Where this queue pair lives; the qpn part is what peers address. */
    QpAddress address();

    QpState state();

    /** The partition this queue pair is in (set on the move to INIT). */
    int pkey();

    /** The queue pair it is connected to (set on the move to RTR), or null. */
    QpAddress remote();

    /** Posts one send-queue request; its completion, if signaled, arrives in order on the send CQ. */
    void postSend(SendWorkRequest request) throws VerbsException;

    /** Posts one receive request; incoming SENDs consume receive requests in posting order. */
    void postRecv(RecvWorkRequest request) throws VerbsException;
}
