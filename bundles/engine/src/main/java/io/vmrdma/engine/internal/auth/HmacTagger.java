package io.vmrdma.engine.internal.auth;

import java.nio.ByteBuffer;

import javax.crypto.Mac;
import javax.crypto.ShortBufferException;

import io.vmrdma.engine.internal.wire.AuthTrailer;
import io.vmrdma.engine.internal.wire.Frame;

/**
 * HMAC-SHA256 under one pair key, truncated to {@link AuthTrailer#TAG_LENGTH} bytes, over every byte before the
 * tag: the engine's tag before {@link GmacTagger}, kept as the benchmarks' point of comparison. One per key and direction, reused for every frame: the Mac keeps its keyed state, so a
 * frame costs no key setup (the JDK's AES-GCM would need a new IV object and an init per frame, see
 * docs/security.md).
 *
 * <p>{@code Mac} reads a ByteBuffer through its position and limit; this moves its own view of the binding's
 * buffer, never the buffer, and makes a view only when a binding lends a buffer it has not seen.
 */
final class HmacTagger implements FrameTagger {

    private final Mac mac;
    private final byte[] full = new byte[Hkdf.HASH_LENGTH];
    private ByteBuffer viewed;
    private ByteBuffer view;

    HmacTagger(byte[] key) {
        this.mac = Hkdf.mac(key);
    }

    @Override
    public void seal(ByteBuffer buffer, int at, int frameLength, long epoch, long counter) {
        int trailer = at + frameLength;
        viewOf(buffer);
        view.putLong(trailer + AuthTrailer.EPOCH_OFFSET, epoch);
        view.putLong(trailer + AuthTrailer.COUNTER_OFFSET, counter);
        int covered = frameLength + AuthTrailer.TAG_OFFSET;
        compute(buffer, at, covered);
        view.clear();
        view.put(at + covered, full, 0, AuthTrailer.TAG_LENGTH);
    }

    @Override
    public boolean verify(ByteBuffer buffer, int at, int coveredLength) {
        compute(buffer, at, coveredLength);
        view.clear();
        int tagAt = at + coveredLength;
        int difference = 0;
        for (int i = 0; i < AuthTrailer.TAG_LENGTH; i++) {
            difference |= full[i] ^ view.get(tagAt + i);
        }
        return difference == 0;
    }

    private void viewOf(ByteBuffer buffer) {
        if (buffer != viewed) {
            viewed = buffer;
            view = buffer.duplicate().order(Frame.ORDER);
        }
        view.clear();
    }

    private void compute(ByteBuffer buffer, int at, int length) {
        viewOf(buffer);
        view.limit(at + length).position(at);
        mac.update(view);
        try {
            mac.doFinal(full, 0);
        } catch (ShortBufferException e) {
            throw new IllegalStateException(e); // full has room for the whole HMAC-SHA256
        }
    }
}
