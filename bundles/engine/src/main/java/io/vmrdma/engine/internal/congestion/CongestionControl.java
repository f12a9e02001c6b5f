package io.vmrdma.engine.internal.congestion;

/**
 * The window of one peer: how many payload bytes all queue pairs to it may have sent and not had acknowledged, and
 * how it follows what the acknowledgements say. One instance per peer, called only on the data agent's thread, once
 * per acknowledgement, so an implementation allocates nothing; the getters may be read by the console from any
 * thread and see a recent value.
 */
public interface CongestionControl {

    /** The algorithm's name as configuration and the console write it. */
    String name();

    /** Payload bytes that may be unacknowledged towards the peer now. */
    long windowBytes();

    /**
     * An acknowledgement arrived.
     *
     * @param nowNanos         the data agent's clock
     * @param rttSampleNanos   the round trip of the newest packet it acknowledged that was sent once (Karn), or -1
     *                         when it gave no sample
     * @param ackedBytes       payload bytes it released from the window
     * @param inFlightBytes    payload bytes to the peer that counted against the window when it arrived: how much of
     *                         the window the node uses
     * @param receiverPressure the receiver asked its senders to back off (flag PRESSURE of the ACK)
     */
    void onAck(long nowNanos, long rttSampleNanos, long ackedBytes, long inFlightBytes, boolean receiverPressure);

    /** A packet to the peer was lost: its retransmission timer fired, or a selective acknowledgement shows a hole. */
    void onLoss(long nowNanos);

    /** Smoothed round trip of data packets from acknowledgements, in nanoseconds; -1 until measured. */
    long rttNanos();

    /** The round trip above which the window shrinks, in nanoseconds; -1 for an algorithm that ignores delay. */
    long rttTargetNanos();

    /** Losses the window reacted to, ever. */
    long losses();
}
