package io.vmrdma.engine.internal.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Random;

import io.vmrdma.engine.internal.wire.AuthTrailer;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameType;
import org.junit.jupiter.api.Test;

/**
 * The engine's HMAC-SHA256 tag and the alternatives the benchmarks compare it with: a sealed frame verifies, and
 * comes out of it as it went in; a frame under another pair's key, or with any bit flipped, does not.
 */
class FrameTaggerTest {

    private static final byte[] SECRET = new byte[32];
    private static final int AT = 8;
    private static final int HEADER = FrameType.WRITE.headerLength();
    private static final int FRAME = HEADER + 1000;
    private static final int COVERED = FRAME + AuthTrailer.TAG_OFFSET;

    private final byte[] original = new byte[FRAME];
    private long counter;

    FrameTaggerTest() {
        new Random(5).nextBytes(original);
        original[Frame.TYPE_OFFSET] = (byte) FrameType.WRITE.code();
    }

    /** A WRITE frame at {@link #AT}, sealed by {@code out} with the next counter. */
    private ByteBuffer sealed(FrameTagger out) {
        ByteBuffer frame = ByteBuffer.allocateDirect(AT + FRAME + AuthTrailer.LENGTH);
        frame.put(AT, original);
        out.seal(frame, AT, FRAME, 77, ++counter);
        return frame;
    }

    private void sealedFramesVerifyAndNothingElseDoes(FrameKeys.TaggerFactory factory) {
        FrameKeys keys = new FrameKeys(SECRET, factory);
        FrameTagger out = keys.tagger(1, 2);
        FrameTagger in = keys.tagger(1, 2);

        ByteBuffer good = sealed(out);
        assertThat(in.verify(good, AT, COVERED)).isTrue();
        byte[] received = new byte[FRAME];
        good.get(AT, received);
        assertThat(received).as("the frame as it was sealed").isEqualTo(original);
        assertThat(good.order(Frame.ORDER).getLong(AT + FRAME + AuthTrailer.COUNTER_OFFSET)).isEqualTo(counter);

        assertThat(keys.tagger(2, 1).verify(sealed(out), AT, COVERED)).as("another pair's key").isFalse();
        for (int at : new int[] {AT + 1, AT + HEADER + 500, AT + FRAME + AuthTrailer.COUNTER_OFFSET,
            AT + COVERED + 3}) {
            ByteBuffer flipped = sealed(out);
            flipped.put(at, (byte) (flipped.get(at) ^ 1));
            assertThat(in.verify(flipped, AT, COVERED)).as("a bit flipped at %d", at).isFalse();
        }
    }

    @Test
    void hmacSha256() {
        sealedFramesVerifyAndNothingElseDoes(FrameKeys.HMAC_SHA256);
    }

    @Test
    void gmac() {
        sealedFramesVerifyAndNothingElseDoes(GcmTagger.GMAC);
    }

    @Test
    void aesGcm() {
        sealedFramesVerifyAndNothingElseDoes(GcmTagger.ENCRYPTING);
    }
}
