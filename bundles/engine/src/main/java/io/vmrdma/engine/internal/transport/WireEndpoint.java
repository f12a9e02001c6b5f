package io.vmrdma.engine.internal.transport;

import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.engine.internal.status.Counters;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * A queue pair as the wire transport sees it: the one way the transport reaches into the verbs. The transport never
 * sees work queues, memory regions or completion queues: it reads the requests in the send queue by their position
 * ({@code k}, 0 for the head), reaches memory through a cursor the queue pair positions after its own checks (keys,
 * protection domain, access, bounds), and asks for completions, which the queue pair posts and counts as verbs do.
 *
 * <p>Implemented by the verbs' queue pair; called on the data agent only.
 */
public interface WireEndpoint {

    // ----------------------------------------------------------------------------------------------------------
    // Identity and state

    QpAddress address();

    /** The connected queue pair on the other node. */
    QpAddress remote();

    int pkey();

    QpState state();

    /** False once destroyed. */
    boolean live();

    /**
     * Whether its domain is migrating away and the queue pair is paused: frames for it are dropped (the peer sends
     * them again to wherever the domain ends up) and it sends nothing.
     */
    boolean paused();

    /** Whether this node's partition table puts the queue pair's domain in partition {@code pkey}. */
    boolean inPartition(int pkey);

    /** The queue pair's counters (they add up to its domain's and the node's). */
    Counters counters();

    /** The wire state of the connection, or null while the queue pair is not connected to another node. */
    WireQp wire();

    /** How many times a request is sent again after a timeout before it fails (0..7). */
    int retryCount();

    /** Takes one receiver-not-ready retry of the head request; false when none was left. */
    boolean takeRnrRetry();

    // ----------------------------------------------------------------------------------------------------------
    // Send work

    /** The most requests the send queue holds. */
    int sendCapacity();

    /** Requests in the send queue, posted and not completed. */
    int sendsQueued();

    Opcode sendOpcode(int k);

    /** Bytes of request {@code k}'s message. */
    long sendLength(int k);

    long sendRemoteAddress(int k);

    int sendRkey(int k);

    int sendImm(int k);

    /**
     * The checks of request {@code k} before its first packet: null when it may go; {@link WcStatus#LOC_LEN_ERR} for
     * a message too long, {@link WcStatus#LOC_PROT_ERR} when its local buffers are not all registered for this use.
     */
    WcStatus checkSend(int k);

    /** Positions the cursor at byte {@code offset} of request {@code k}'s local buffers; false when one went away. */
    boolean openSend(int k, long offset);

    /** The head request completed: it is counted and, when signaled, completes with success. */
    void sendDone();

    /** The head request fails: it completes with {@code status} and the queue pair goes to ERR. */
    void sendFailed(WcStatus status);

    // ----------------------------------------------------------------------------------------------------------
    // Receive work

    /** Receives posted and not consumed. */
    int recvsQueued();

    /**
     * Positions the cursor at the start of receive {@code k}'s buffers for a message of {@code messageLength} bytes:
     * null when they take it; {@link WcStatus#LOC_LEN_ERR} when they are too short, {@link WcStatus#LOC_PROT_ERR}
     * when they are not all registered for local writes.
     */
    WcStatus openRecv(int k, int messageLength);

    /** The head receive took a message: it completes with success. */
    void recvDone(WcOpcode opcode, int length, boolean hasImm, int imm);

    /** The head receive fails: it completes with {@code status} and the queue pair goes to ERR. */
    void recvFailed(WcStatus status);

    // ----------------------------------------------------------------------------------------------------------
    // Remote access and the cursor

    /**
     * Positions the cursor at {@code address} of the region {@code rkey} names when it allows this queue pair
     * {@code access} to {@code length} bytes there; false otherwise (a protection fault, for the caller to count).
     */
    boolean openRemote(int rkey, long address, int length, int access);

    /** Moves the cursor forward by {@code bytes}. */
    void skip(long bytes);

    /** Copies the next {@code n} bytes at the cursor out to {@code target} at {@code at}; returns how many there were. */
    int copyOut(MutableDirectBuffer target, int at, int n);

    /**
     * When the next {@code n} bytes at the cursor lie in one piece of direct memory, points {@code span} at them and
     * moves the cursor past them; otherwise returns false and leaves the cursor where it was.
     */
    boolean spanOut(int n, PayloadSpan span);

    /** Copies {@code n} bytes from {@code source} at {@code at} in at the cursor; returns how many fitted. */
    int copyIn(DirectBuffer source, int at, int n);
}
