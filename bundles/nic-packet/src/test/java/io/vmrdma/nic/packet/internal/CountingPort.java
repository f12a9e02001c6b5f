package io.vmrdma.nic.packet.internal;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.LinkState;
import io.vmrdma.api.nic.NicPort;

/**
 * A port that counts what passes through it, for tests whose counters must add up: frames committed to unicast
 * destinations and to the broadcast address, and frames the binding delivered.
 */
final class CountingPort implements NicPort {

    private final NicPort inner;
    private final Counting counting = new Counting();
    private LinkAddress claimedFor;
    final Map<LinkAddress, Long> unicastSent = new HashMap<>();
    long broadcastSent;
    long delivered;

    CountingPort(NicPort inner) {
        this.inner = inner;
    }

    private final class Counting implements FrameHandler {
        FrameHandler handler;

        @Override
        public void onFrame(ByteBuffer buffer, int offset, int length, LinkAddress source) {
            delivered++;
            handler.onFrame(buffer, offset, length, source);
        }
    }

    @Override
    public int poll(FrameHandler handler, int frameLimit) {
        counting.handler = handler;
        return inner.poll(counting, frameLimit);
    }

    @Override
    public boolean tryClaim(LinkAddress destination, int length, FrameClaim claim) {
        claimedFor = destination;
        return inner.tryClaim(destination, length, claim);
    }

    @Override
    public void commit(FrameClaim claim, int length) {
        if (inner.broadcastAddress().map(b -> b.equals(claimedFor)).orElse(false)) {
            broadcastSent++;
        } else {
            unicastSent.merge(claimedFor, 1L, Long::sum);
        }
        inner.commit(claim, length);
    }

    @Override
    public void abort(FrameClaim claim) {
        inner.abort(claim);
    }

    @Override
    public int flush() {
        return inner.flush();
    }

    @Override
    public String binding() {
        return inner.binding();
    }

    @Override
    public String interfaceName() {
        return inner.interfaceName();
    }

    @Override
    public LinkAddress address() {
        return inner.address();
    }

    @Override
    public int mtu() {
        return inner.mtu();
    }

    @Override
    public Optional<LinkAddress> broadcastAddress() {
        return inner.broadcastAddress();
    }

    @Override
    public LinkState linkState() {
        return inner.linkState();
    }
}
