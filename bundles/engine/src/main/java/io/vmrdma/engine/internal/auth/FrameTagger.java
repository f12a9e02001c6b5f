package io.vmrdma.engine.internal.auth;

import java.nio.ByteBuffer;

/**
 * Seals and checks the tag of frames under one pair key (docs/wire-protocol.md §8). The engine's is GMAC
 * ({@link FrameKeys#GMAC}); benchmarks put others beside it through {@link FrameKeys.TaggerFactory}.
 */
public interface FrameTagger {

    /**
     * Writes the trailer after the {@code frameLength} bytes (header and payload) at {@code at}: {@code epoch},
     * {@code counter}, then the tag of everything before it.
     */
    void seal(ByteBuffer buffer, int at, int frameLength, long epoch, long counter);

    /** Whether the tag right after the {@code coveredLength} bytes at {@code at} is theirs; in constant time. */
    boolean verify(ByteBuffer buffer, int at, int coveredLength);
}
