package io.vmrdma.api.nic;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A NIC driver binding: one port on one link, carrying vmrdma frames.
 *
 * <p>Driven entirely by the engine's duty cycle (see the package documentation): {@link #poll} hands received
 * frames to the engine in a batch; sending is claim, write, commit, and a {@link #flush} per batch so that a
 * binding can use sendmmsg or a PACKET_MMAP transmit ring. A port is used by one thread at a time; it has no
 * thread of its own unless its documentation says why.
 *
 * <p>Registered as an OSGi service with the {@link #BINDING_PROPERTY} property. The engine binds it dynamically:
 * while no port is bound, the engine's retransmission and retry timers pause (a missing binding is not a lost
 * peer).
 */
@ConsumerType
public interface NicPort {

    /** Service property naming the binding ({@code "packet"}, {@code "udp"}, {@code "loopback"}). */
    String BINDING_PROPERTY = "vmrdma.nic.binding";

    /** Smallest MTU a binding may report. */
    int MIN_MTU = 1500;

    /** Largest MTU a binding may report (an IPv4 datagram or a veth jumbo frame). */
    int MAX_MTU = 65535;

    /** The binding's name, the value of {@link #BINDING_PROPERTY}. */
    String binding();

    /** The interface (or socket) this port sends through, for people: {@code "veth0"}, {@code "[::1]:4791"}. */
    String interfaceName();

    /** This port's own address on the link. */
    LinkAddress address();

    /**
     * The largest vmrdma frame, header included, this port carries: the link MTU less any encapsulation the
     * binding adds. Between {@link #MIN_MTU} minus encapsulation and {@link #MAX_MTU}; may change when the link
     * does, so the engine reads it when it segments a new message.
     */
    int mtu();

    /**
     * The address that reaches every other port on this port's link segment, where the link has one: a frame
     * claimed to it is delivered to each of them (not back to this port). Raw Ethernet has
     * {@link LinkAddress#ETHERNET_BROADCAST}; UDP has none (empty: peers come from the static peer table only).
     * The engine sends its discovery HELLO there.
     *
     * <p>Since 0.2.0 of this package; bindings written before it have none.
     */
    default Optional<LinkAddress> broadcastAddress() {
        return Optional.empty();
    }

    /** Whether the link can carry frames now. */
    LinkState linkState();

    /**
     * Hands up to {@code frameLimit} received frames to {@code handler}, one call each, in arrival order, and
     * returns how many it handed over (0 when none were waiting). Never blocks.
     */
    int poll(FrameHandler handler, int frameLimit);

    /**
     * Sleeps until a frame may be waiting to be polled, or at most {@code timeoutNanos}: the engine's idle wait, so a
     * frame that arrives ends it instead of waiting out a timer. May return early with nothing to poll; the engine
     * polls afterwards either way. Since 0.6.0 of this package; a binding that cannot wait on its link parks for the
     * time, as bindings written before it are taken to.
     */
    default void awaitFrames(long timeoutNanos) {
        LockSupport.parkNanos(timeoutNanos);
    }

    /**
     * Sleeps as {@link #awaitFrames} does, and also until file descriptor {@code fd} has something to read: one sleep
     * that a frame or the hypervisor's event channel ends, for an engine that serves guests and the wire at once.
     * Since 0.9.0 of this package.
     *
     * @return false, having slept not at all, when the binding has no descriptor of its own to wait on together with
     *         {@code fd} (the default); the caller then sleeps in short steps
     */
    default boolean awaitFramesOr(int fd, long timeoutNanos) {
        return false;
    }

    /**
     * Whether {@link #awaitFrames} and {@link #awaitFramesOr} end both when a frame arrives and when {@link #wake} is
     * called: then the engine may sleep in them until its next timer is due, however far off. Otherwise (bindings
     * written before 0.10.0 of this package, and ports whose wait is the default park) the engine keeps its sleeps in
     * them short, since a frame would wait out the sleep.
     */
    default boolean wakeable() {
        return false;
    }

    /**
     * Ends the {@link #awaitFrames} or {@link #awaitFramesOr} in progress at once, or makes the next one return at once
     * if none is in progress (a wake is never lost between the engine's last look for work and its wait); any thread
     * may call it, while the engine uses the port or after the port was closed (then it does nothing). The engine calls
     * it when another thread hands it work that is not a frame: a command, a configuration, a binding coming or going.
     * Since 0.10.0 of this package; the default does nothing, and a port that is not {@link #wakeable()} needs none.
     */
    default void wake() {
        // Nothing to end: such a port's waits are short.
    }

    /**
     * Claims room for one outgoing frame of up to {@code length} bytes addressed to {@code destination}.
     * On success the window is lent through {@code claim} and must be committed or aborted before the next claim.
     *
     * @return false when the transmit ring or batch is full; the engine flushes and retries later
     * @throws IllegalArgumentException if {@code length} exceeds {@link #mtu()}
     */
    boolean tryClaim(LinkAddress destination, int length, FrameClaim claim);

    /** Queues the claimed frame, trimmed to {@code length} bytes (at most the claimed length), for the next flush. */
    void commit(FrameClaim claim, int length);

    /** Gives a claimed window back without sending anything. */
    void abort(FrameClaim claim);

    /**
     * Whether {@link #commitGather} puts the payload on the wire straight from the caller's memory (a second entry of
     * the send call's scatter/gather list) rather than copying it into the window. The engine then leaves the payload
     * where it is and writes only the frame's header and trailer. Since 0.8.0 of this package; false for bindings
     * written before it.
     */
    default boolean gathers() {
        return false;
    }

    /**
     * Queues the claimed frame for the next flush as three pieces: the first {@code head} bytes of the window, then
     * {@code payloadLength} bytes of {@code payload} from {@code payloadOffset}, then the {@code tail} bytes that
     * follow the head in the window ({@code [head, head + tail)}). The claim must have been for at least
     * {@code head + payloadLength + tail} bytes. {@code payload} must be a direct buffer, and its bytes must stay
     * as they are and mapped until the next {@link #flush()} returns: a binding that keeps a frame past a flush (the
     * kernel took only part of a batch) copies its payload into its own buffer before that flush returns.
     *
     * <p>The default, for bindings that do not gather, copies the payload into the window after the head, moves the
     * tail behind it ({@link FrameClaim#placePayload}) and commits the frame whole. Since 0.8.0 of this package.
     */
    default void commitGather(FrameClaim claim, int head, ByteBuffer payload, int payloadOffset, int payloadLength,
                              int tail) {
        claim.placePayload(head, payload, payloadOffset, payloadLength, tail);
        commit(claim, head + payloadLength + tail);
    }

    /**
     * Puts every committed frame on the wire (one system call for the batch where the binding can) and returns
     * how many were handed to the link.
     */
    int flush();

    /**
     * How long the frame being handed to {@link FrameHandler#onFrame} now had waited at this host when the
     * {@link #poll} that hands it over began: from when the kernel received it (its receive timestamp) to the start of
     * the poll. The engine takes it off the round trips it measures, so the time its own thread spent on other work
     * or waiting for a core does not look like delay on the path. Valid during {@code onFrame} only; never negative;
     * 0 when the binding cannot tell. Since 0.7.0 of this package; bindings written before it say 0.
     */
    default long frameWaitNanos() {
        return 0;
    }

    /**
     * Frames the kernel dropped on receive before this port read them (its socket's buffer was full), ever, as last
     * read on the port's thread: a plain read, no system call. The engine asks senders to back off when it rises.
     * Since 0.5.0 of this package; a binding that cannot tell has 0.
     */
    default long receiveDrops() {
        return 0;
    }

    /**
     * The binding's own counts, by name, in an order fit to show (for example {@code runts}, {@code kernelDrops},
     * {@code sendErrors}): frames it dropped before the engine saw them and calls the kernel failed. Read from a
     * console thread while the engine uses the port, without synchronizing with it: for watching, a value may be
     * stale. Since 0.3.0 of this package; bindings written before it have none.
     */
    default Map<String, Long> bindingCounters() {
        return Map.of();
    }
}
