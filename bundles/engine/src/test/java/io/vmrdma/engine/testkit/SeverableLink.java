package io.vmrdma.engine.testkit;

import java.nio.ByteBuffer;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.NicPort;
import io.vmrdma.nic.faults.ForwardingNicPort;

/**
 * A port whose link to one other port can be cut and mended: while cut, every frame to that port is dropped before it
 * leaves and every frame from it is dropped as it arrives, both counted; all other traffic passes. Published in the
 * engine's test jar.
 */
public final class SeverableLink extends ForwardingNicPort {

    private final LinkAddress other;
    private boolean cut;
    private boolean dropClaimed;
    private long dropped;

    public SeverableLink(NicPort inner, LinkAddress other) {
        super(inner);
        this.other = other;
    }

    public void cut() {
        cut = true;
    }

    public void mend() {
        cut = false;
    }

    /** Frames dropped while the link was cut, both ways. */
    public long dropped() {
        return dropped;
    }

    @Override
    public boolean tryClaim(LinkAddress destination, int length, FrameClaim claim) {
        dropClaimed = cut && other.equals(destination);
        return inner.tryClaim(destination, length, claim);
    }

    @Override
    public void commit(FrameClaim claim, int length) {
        if (dropClaimed) {
            dropped++;
            inner.abort(claim);
        } else {
            inner.commit(claim, length);
        }
    }

    @Override
    public int poll(FrameHandler handler, int frameLimit) {
        return inner.poll(new FrameHandler() {
            @Override
            public void onFrame(ByteBuffer buffer, int offset, int length, LinkAddress source) {
                if (cut && other.equals(source)) {
                    dropped++;
                } else {
                    handler.onFrame(buffer, offset, length, source);
                }
            }
        }, frameLimit);
    }
}
