package io.vmrdma.nic.packet.internal;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.NicPort;
import io.vmrdma.nic.faults.ForwardingNicPort;

/**
 * A port that counts what passes through it, for tests whose counters must add up: frames committed to unicast
 * destinations and to the broadcast address, and frames the binding delivered.
 */
final class CountingPort extends ForwardingNicPort {

    private final Counting counting = new Counting();
    private LinkAddress claimedFor;
    final Map<LinkAddress, Long> unicastSent = new HashMap<>();
    long broadcastSent;
    long delivered;

    CountingPort(NicPort inner) {
        super(inner);
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
}
