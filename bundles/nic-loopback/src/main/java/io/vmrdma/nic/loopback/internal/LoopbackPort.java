package io.vmrdma.nic.loopback.internal;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.LinkState;
import io.vmrdma.api.nic.NicPort;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.Designate;

/**
 * A NIC port on a {@link LoopbackWire}. A frame is written once, straight into the destination's {@link Inbox},
 * and read in place from there, so the wire adds no copy of its own. A frame to {@link LoopbackWire#BROADCAST} is
 * written to a staging buffer and copied into every other attached port's inbox when committed.
 */
@Component(service = NicPort.class, configurationPid = "io.vmrdma.nic.loopback",
        property = NicPort.BINDING_PROPERTY + "=loopback")
@Designate(ocd = LoopbackConfig.class)
public final class LoopbackPort implements NicPort, AutoCloseable {

    private final LoopbackWire wire;
    private final int port;
    private final int mtu;
    private final Inbox inbox;
    private final Receiver receiver = new Receiver();
    private Inbox claimedInbox;
    /** Where frames for a port that is not attached are written, then dropped, as a wire drops them. */
    private final ByteBuffer discard = ByteBuffer.allocateDirect(MAX_MTU);
    private boolean discarding;
    /** Where a broadcast frame is written before it is copied to every other port. */
    private final ByteBuffer staging = ByteBuffer.allocateDirect(MAX_MTU);
    private boolean broadcasting;
    private long dropped;
    private long broadcastMisses;
    private int committedSinceFlush;

    @Activate
    public LoopbackPort(LoopbackConfig config) {
        this(LoopbackWire.shared(), config.port(), config.mtu(), config.inboxBytes());
    }

    /** A port attached to {@code wire} at {@code port}. */
    public LoopbackPort(LoopbackWire wire, int port, int mtu, int inboxBytes) {
        if (mtu < MIN_MTU || mtu > MAX_MTU) {
            throw new IllegalArgumentException("MTU must be " + MIN_MTU + " to " + MAX_MTU + ", not " + mtu);
        }
        this.wire = wire;
        this.port = port;
        this.mtu = mtu;
        this.inbox = wire.attach(port, inboxBytes, mtu);
    }

    /** Detaches from the wire. DS calls this only after the service is unregistered, so no engine still uses it. */
    @Deactivate
    @Override
    public void close() {
        wire.detach(port, inbox);
    }

    @Override
    public String binding() {
        return "loopback";
    }

    @Override
    public String interfaceName() {
        return "loopback:" + port;
    }

    @Override
    public LinkAddress address() {
        return wire.address(port);
    }

    @Override
    public int mtu() {
        return mtu;
    }

    /** {@link LoopbackWire#BROADCAST}: every other port attached to the same wire. */
    @Override
    public Optional<LinkAddress> broadcastAddress() {
        return Optional.of(LoopbackWire.BROADCAST);
    }

    @Override
    public LinkState linkState() {
        return LinkState.UP;
    }

    @Override
    public int poll(FrameHandler handler, int frameLimit) {
        receiver.handler = handler;
        try {
            return inbox.read(receiver, frameLimit);
        } finally {
            receiver.handler = null;
        }
    }

    @Override
    public boolean tryClaim(LinkAddress destination, int length, FrameClaim claim) {
        if (length < 0 || length > mtu) {
            throw new IllegalArgumentException("frame of " + length + " bytes does not fit MTU " + mtu);
        }
        if (destination.equals(LoopbackWire.BROADCAST)) {
            broadcasting = true;
            claim.lend(staging, 0, length, -1);
            return true;
        }
        int destPort = wire.portOf(destination);
        Inbox destInbox = destPort < 0 ? null : wire.inbox(destPort);
        if (destInbox == null) {
            discarding = true;
            claim.lend(discard, 0, length, -1);
            return true;
        }
        int at = destInbox.claim();
        if (at < 0) {
            return false;
        }
        claimedInbox = destInbox;
        claim.lend(destInbox.byteBuffer(), at, length, at);
        return true;
    }

    @Override
    public void commit(FrameClaim claim, int length) {
        if (broadcasting && claim.isLent()) {
            broadcasting = false;
            int capacity = claim.capacity();
            claim.reset();
            if (length < 0 || length > capacity) {
                throw new IllegalArgumentException("committed " + length + " bytes of a " + capacity + "-byte claim");
            }
            broadcastMisses += wire.broadcast(staging, 0, length, port);
            committedSinceFlush++;
            return;
        }
        if (takeDiscard(claim)) {
            dropped++;
            return;
        }
        Inbox destInbox = takeClaimedInbox(claim);
        int at = (int) claim.token();
        if (length < 0 || length > claim.capacity()) {
            destInbox.abort(at);
            claim.reset();
            throw new IllegalArgumentException(
                    "committed " + length + " bytes of a " + claim.capacity() + "-byte claim");
        }
        destInbox.commit(at, length, port);
        committedSinceFlush++;
        claim.reset();
    }

    @Override
    public void abort(FrameClaim claim) {
        if (broadcasting && claim.isLent()) {
            broadcasting = false;
            claim.reset();
            return;
        }
        if (takeDiscard(claim)) {
            return;
        }
        takeClaimedInbox(claim).abort((int) claim.token());
        claim.reset();
    }

    @Override
    public int flush() {
        int flushed = committedSinceFlush;
        committedSinceFlush = 0;
        return flushed;
    }

    /** Both counts below, for the console. */
    @Override
    public Map<String, Long> bindingCounters() {
        Map<String, Long> counters = new LinkedHashMap<>();
        counters.put("dropped", dropped);
        counters.put("broadcastMisses", broadcastMisses);
        return counters;
    }

    /** Copies of broadcast frames that a port's full inbox could not take. */
    public long broadcastMisses() {
        return broadcastMisses;
    }

    /** Frames sent to ports that were not attached, dropped. */
    public long dropped() {
        return dropped;
    }

    private boolean takeDiscard(FrameClaim claim) {
        if (!discarding || !claim.isLent()) {
            return false;
        }
        discarding = false;
        claim.reset();
        return true;
    }

    /** The inbox of the outstanding claim; it stays valid even if its port detached since (frames then go nowhere). */
    private Inbox takeClaimedInbox(FrameClaim claim) {
        Inbox destInbox = claimedInbox;
        if (destInbox == null || !claim.isLent()) {
            throw new IllegalStateException("no frame is claimed");
        }
        claimedInbox = null;
        return destInbox;
    }

    /** Adapts inbox frames to the engine's handler without allocating. */
    private final class Receiver implements Inbox.Reader {
        FrameHandler handler;

        @Override
        public void onFrame(ByteBuffer bytes, int offset, int length, int sourcePort) {
            handler.onFrame(bytes, offset, length, wire.address(sourcePort));
        }
    }
}
