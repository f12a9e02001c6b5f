package io.vmrdma.api.nic;

import java.nio.ByteBuffer;

/** Receives frames during {@link NicPort#poll}. */
@FunctionalInterface
public interface FrameHandler {

    /**
     * One received frame: {@code length} bytes at {@code offset} in {@code buffer}, starting with the vmrdma
     * header (link-layer headers are already stripped).
     *
     * <p>The window is lent for the duration of the call only: read it (or copy out of it) before returning, and
     * do not change the buffer's position or limit. The bytes come from the wire and are untrusted.
     *
     * @param source the link address of the sender, as the link layer reports it
     */
    void onFrame(ByteBuffer buffer, int offset, int length, LinkAddress source);
}
