package io.vmrdma.engine.internal.wire;

/**
 * The trailer of an authenticated frame (flag {@link Frame#FLAG_AUTH}), right after the payload, in place of the
 * payload CRC (docs/wire-protocol.md §8). Offsets from the start of the trailer; little-endian.
 *
 * <pre>
 *   0               1               2               3
 *   0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
 *  +---------------------------------------------------------------+
 *  |                 sender's epoch (u64, random per start)        |  0
 *  +---------------------------------------------------------------+
 *  |                 sender's frame counter (u64, from 1)          |  8
 *  +---------------------------------------------------------------+
 *  |    tag: GMAC under K_e(src -> dst) for the epoch, IV from the |  16
 *  |    counter, over every byte before the tag                    |
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class AuthTrailer {

    public static final int EPOCH_OFFSET = 0;
    public static final int COUNTER_OFFSET = 8;
    public static final int TAG_OFFSET = 16;
    public static final int TAG_LENGTH = 16;
    public static final int LENGTH = TAG_OFFSET + TAG_LENGTH;

    private AuthTrailer() {
    }
}
