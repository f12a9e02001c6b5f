package io.vmrdma.engine.internal.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Random;

import io.vmrdma.engine.internal.wire.AuthTrailer;
import org.junit.jupiter.api.Test;

/**
 * The engine's tag computed two ways, through OpenSSL for direct buffers and through the JDK for heap buffers: the
 * same bytes give the same tag either way (two implementations of GMAC agreeing), and any changed byte, another
 * epoch or another pair key is refused.
 */
class GmacTaggerTest {

    private static final long SEED = 20261207L;

    @Test
    void openSslIsLoadedHere() {
        // test.sh installs libssl3; without it the engine would fall back to the JDK's slower GCM.
        assertThat(OpenSslGcm.AVAILABLE).isTrue();
    }

    @Test
    void openSslAndTheJdkGiveTheSameTagAndEachChecksTheOthers() {
        Random random = new Random(SEED);
        byte[] key = new byte[32];
        random.nextBytes(key);
        GmacTagger sealer = new GmacTagger(key);
        GmacTagger checker = new GmacTagger(key);
        for (int i = 0; i < 500; i++) {
            int length = 1 + random.nextInt(9000);
            int at = random.nextInt(64);
            long epoch = i % 50 == 0 ? random.nextLong() : 77;
            long counter = 1 + random.nextInt(1 << 20);
            byte[] frame = new byte[at + length + AuthTrailer.LENGTH];
            random.nextBytes(frame);
            ByteBuffer direct = ByteBuffer.allocateDirect(frame.length).put(0, frame);
            ByteBuffer heap = ByteBuffer.wrap(frame.clone());
            sealer.seal(direct, at, length, epoch, counter);
            sealer.seal(heap, at, length, epoch, counter);
            assertThat(bytes(direct)).as("case %d", i).isEqualTo(bytes(heap));
            int covered = length + AuthTrailer.TAG_OFFSET;
            assertThat(checker.verify(direct, at, covered)).isTrue();
            assertThat(checker.verify(heap, at, covered)).isTrue();
            assertThat(checker.verify(direct, at, covered)).as("a replay is the window's to refuse").isTrue();

            int flip = at + random.nextInt(covered + AuthTrailer.TAG_LENGTH);
            direct.put(flip, (byte) (direct.get(flip) ^ (1 << random.nextInt(8))));
            heap.put(flip, direct.get(flip));
            assertThat(checker.verify(direct, at, covered)).as("case %d, byte %d flipped", i, flip).isFalse();
            assertThat(checker.verify(heap, at, covered)).as("case %d, byte %d flipped", i, flip).isFalse();
        }
    }

    @Test
    void anotherEpochOrPairKeyGivesAnotherTag() {
        Random random = new Random(SEED + 1);
        byte[] key = new byte[32];
        random.nextBytes(key);
        byte[] other = key.clone();
        other[0] ^= 1;
        ByteBuffer one = frame(random, 1000);
        ByteBuffer two = ByteBuffer.allocateDirect(one.capacity()).put(0, bytes(one));
        new GmacTagger(key).seal(one, 0, 1000, 5, 9);
        new GmacTagger(key).seal(two, 0, 1000, 6, 9);
        assertThat(tag(one, 1000)).isNotEqualTo(tag(two, 1000));
        int covered = 1000 + AuthTrailer.TAG_OFFSET;
        assertThat(new GmacTagger(key).verify(one, 0, covered)).isTrue();
        assertThat(new GmacTagger(other).verify(one, 0, covered)).isFalse();
        // The epoch in the trailer decides the key: the same frame with another epoch written over it fails.
        one.putLong(1000 + AuthTrailer.EPOCH_OFFSET, 6);
        assertThat(new GmacTagger(key).verify(one, 0, covered)).isFalse();
    }

    /** A forged frame under another epoch is refused and does not replace the key of the epoch in use. */
    @Test
    void onlyAMatchingTagMakesAnotherEpochTheOneKept() {
        Random random = new Random(SEED + 2);
        byte[] key = new byte[32];
        random.nextBytes(key);
        GmacTagger peer = new GmacTagger(key);
        GmacTagger checker = new GmacTagger(key);
        int covered = 500 + AuthTrailer.TAG_OFFSET;
        ByteBuffer genuine = frame(random, 500);
        peer.seal(genuine, 0, 500, 11, 1);
        assertThat(checker.verify(genuine, 0, covered)).isTrue();
        assertThat(checker.keptEpoch()).isEqualTo(11);

        ByteBuffer forged = frame(random, 500);
        forged.putLong(500 + AuthTrailer.EPOCH_OFFSET, 12);
        assertThat(checker.verify(forged, 0, covered)).isFalse();
        assertThat(checker.keptEpoch()).as("the forged epoch was not kept").isEqualTo(11);

        ByteBuffer restarted = frame(random, 500);
        new GmacTagger(key).seal(restarted, 0, 500, 12, 1);
        assertThat(checker.verify(restarted, 0, covered)).isTrue();
        assertThat(checker.keptEpoch()).isEqualTo(12);
    }

    @Test
    void lengthsOutsideTheBufferAreRefusedWithoutTouchingMemory() {
        byte[] key = new byte[32];
        ByteBuffer small = ByteBuffer.allocateDirect(100);
        GmacTagger tagger = new GmacTagger(key);
        assertThat(tagger.verify(small, 0, 100)).isFalse();
        assertThat(tagger.verify(small, 90, 16)).isFalse();
        assertThat(tagger.verify(small, -1, 20)).isFalse();
        assertThat(tagger.verify(small, 0, Integer.MAX_VALUE)).isFalse();
        assertThat(tagger.verify(small, 0, 3)).isFalse();
    }

    private static ByteBuffer frame(Random random, int length) {
        byte[] bytes = new byte[length + AuthTrailer.LENGTH];
        random.nextBytes(bytes);
        return ByteBuffer.allocateDirect(bytes.length).put(0, bytes);
    }

    private static byte[] tag(ByteBuffer frame, int length) {
        byte[] tag = new byte[AuthTrailer.TAG_LENGTH];
        frame.get(length + AuthTrailer.TAG_OFFSET, tag);
        return tag;
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.capacity()];
        buffer.get(0, out);
        return out;
    }
}
