package io.vmrdma.engine.internal.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Random;

import io.vmrdma.engine.internal.wire.AuthTrailer;
import org.junit.jupiter.api.Test;

/** The engine's HMAC-SHA256 tag and the GMAC alternative the benchmarks compare it with: a tag fits one frame only. */
class FrameTaggerTest {

    private static final byte[] SECRET = new byte[32];

    private static void sealedFramesVerifyAndNothingElseDoes(FrameKeys.TaggerFactory factory) {
        FrameKeys keys = new FrameKeys(SECRET, factory);
        FrameTagger out = keys.tagger(1, 2);
        FrameTagger in = keys.tagger(1, 2);
        FrameTagger otherPair = keys.tagger(2, 1);
        int length = 1000;
        ByteBuffer frame = ByteBuffer.allocateDirect(8 + length + AuthTrailer.LENGTH);
        byte[] bytes = new byte[length];
        new Random(5).nextBytes(bytes);
        frame.put(8, bytes);

        out.seal(frame, 8, length, 77, 1);
        int covered = length + AuthTrailer.TAG_OFFSET;
        assertThat(in.verify(frame, 8, covered)).isTrue();
        assertThat(otherPair.verify(frame, 8, covered)).as("another pair's key").isFalse();
        for (int at : new int[] {8, 8 + 500, 8 + length + AuthTrailer.COUNTER_OFFSET, 8 + covered + 3}) {
            frame.put(at, (byte) (frame.get(at) ^ 1));
            assertThat(in.verify(frame, 8, covered)).as("a bit flipped at %d", at).isFalse();
            frame.put(at, (byte) (frame.get(at) ^ 1));
        }
        out.seal(frame, 8, length, 77, 2);
        assertThat(in.verify(frame, 8, covered)).as("the next counter, sealed again").isTrue();
    }

    @Test
    void hmacSha256() {
        sealedFramesVerifyAndNothingElseDoes(FrameKeys.HMAC_SHA256);
    }

    @Test
    void gmac() {
        sealedFramesVerifyAndNothingElseDoes(GmacTagger.FACTORY);
    }
}
